// .nemo writing: libarchive (pax_restricted = plain ustar headers unless a name needs pax) into a
// temporary file renamed into place; the weights go through the torch zip writer.
#include "asr/io/nemo_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <map>
#include <memory>
#include <ostream>

#include "asr/core/error.h"
#include "asr/io/tar_reader.h"
#include "asr/io/torch_zip_writer.h"

namespace asr::io {

namespace {

constexpr const char* kConfigMember = "model_config.yaml";
constexpr const char* kWeightsMember = "model_weights.ckpt";

void collect_references(const YAML::Node& n, const std::string& key,
                        std::vector<std::pair<std::string, std::string>>& out) {
  if (n.IsScalar()) {
    const std::string& v = n.Scalar();
    if (v.compare(0, 5, "nemo:") == 0) out.emplace_back(key, v.substr(5));
  } else if (n.IsMap()) {
    for (const auto& kv : n) collect_references(kv.second, key.empty() ? kv.first.Scalar() : key + "." + kv.first.Scalar(), out);
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) collect_references(n[i], str_cat(key, ".", i), out);
  }
}

class TarWriter {
 public:
  TarWriter(std::ostream& out, const std::string& path) : out_(out), path_(path), ar_(archive_write_new(), archive_write_free) {
    if (!ar_) throw Error(str_cat(path, ": cannot allocate an archive writer"));
    check(archive_write_set_format_pax_restricted(ar_.get()), "cannot select the tar format");
    check(archive_write_open(ar_.get(), this, nullptr, &TarWriter::write_cb, nullptr), "cannot start the archive");
  }
  // NeMo's tar.add(tmpdir, arcname=".") names members "./<name>" after a "./" folder entry.
  void add_folder() { header("./", AE_IFDIR, 0755, 0); }
  void add(const std::string& name, const std::string& bytes) {
    header("./" + name, AE_IFREG, 0644, bytes.size());
    size_t done = 0;
    while (done < bytes.size()) {
      la_ssize_t n = archive_write_data(ar_.get(), bytes.data() + done, bytes.size() - done);
      if (n <= 0) fail(str_cat("cannot write member '", name, "'"));
      done += static_cast<size_t>(n);
    }
  }
  void close() { check(archive_write_close(ar_.get()), "cannot finish the archive"); }

 private:
  static la_ssize_t write_cb(archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<TarWriter*>(self);
    w->out_.write(static_cast<const char*>(buf), static_cast<std::streamsize>(n));
    return w->out_ ? static_cast<la_ssize_t>(n) : -1;
  }
  void header(const std::string& name, unsigned type, int perm, size_t size) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), perm);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e.get(), 0, 0);  // reproducible output
    check(archive_write_header(ar_.get(), e.get()), ("cannot write the header of '" + name + "'").c_str());
  }
  void check(int rc, const char* what) {
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail(what);
  }
  [[noreturn]] void fail(const std::string& what) {
    const char* why = archive_error_string(ar_.get());
    throw Error(str_cat(path_, ": ", what, " (", why ? why : "write error", ")"));
  }

  std::ostream& out_;
  std::string path_;
  std::unique_ptr<archive, int (*)(archive*)> ar_;
};

YAML::Node parse_config_yaml(const std::string& config_yaml, const std::string& source) {
  try {
    return YAML::Load(config_yaml);
  } catch (const YAML::ParserException& e) {
    throw Error(str_cat(source, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
}

}  // namespace

std::map<std::string, std::string> read_nemo_artifacts(const std::string& path) {
  const FileKind kind = detect_file_kind(path);
  if (kind == FileKind::Hdf5)
    throw Error(str_cat(path, ": an asr-adapt .h5 checkpoint holds only the tokenizer model, not the other "
                              "artifacts NeMo registers (vocab files): use the original .nemo as the base"));
  std::map<std::string, std::string> members = read_tar_members(path);
  if (!members.count(kConfigMember)) throw Error(str_cat(path, ": no model_config.yaml (not a NeMo checkpoint)"));
  members.erase(kConfigMember);
  members.erase(kWeightsMember);
  return members;
}

std::string with_validation_ds(const ModelConfig& config, const std::string& source) {
  const YAML::Node root = parse_config_yaml(config.yaml, source);  // const: a lookup must not add the key
  if (!root.IsMap() || root["validation_ds"]) return config.yaml;
  std::string out = config.yaml;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + str_cat("validation_ds:\n  manifest_filepath: null\n  sample_rate: ", config.preprocessor.sample_rate,
                       "\n  batch_size: 16\n  shuffle: false\n  use_start_end_token: false\n");
}

std::vector<std::pair<std::string, std::string>> nemo_artifact_references(const std::string& config_yaml,
                                                                         const std::string& source) {
  std::vector<std::pair<std::string, std::string>> out;
  collect_references(parse_config_yaml(config_yaml, source), "", out);
  return out;
}

void write_nemo(const std::string& path, const std::string& config_yaml, const StateDict& weights,
                const std::map<std::string, std::string>& artifacts) {
  for (const auto& [key, member] : nemo_artifact_references(config_yaml, path + ":" + kConfigMember))
    if (!artifacts.count(member))
      throw Error(str_cat(path, ": the config's '", key, "' refers to 'nemo:", member,
                          "', which is not among the artifacts to write"));
  for (const auto& [name, bytes] : artifacts)
    if (name.empty() || name == kConfigMember || name == kWeightsMember || name.find('/') != std::string::npos ||
        name.compare(0, 1, ".") == 0)
      throw Error(str_cat(path, ": artifact name '", name, "' is not a plain file name"));
  const std::string ckpt = torch_state_dict_bytes(weights, "model_weights");
  write_file_atomically(path, [&](std::ostream& out) {
    TarWriter tar(out, path);
    tar.add_folder();
    for (const auto& [name, bytes] : artifacts) tar.add(name, bytes);
    tar.add(kConfigMember, config_yaml);
    tar.add(kWeightsMember, ckpt);
    tar.close();
  });
}

void write_model_nemo(const std::string& path, const ModelFile& model,
                      const std::map<std::string, std::string>& generated) {
  std::map<std::string, std::string> artifacts;
  if (detect_file_kind(model.path) != FileKind::Hdf5) {
    artifacts = read_nemo_artifacts(model.path);
  } else {
    for (const auto& [key, member] : nemo_artifact_references(model.config.yaml, model.path)) {
      auto it = generated.find(member);
      if (key == "tokenizer.model_path")
        artifacts[member] = model.tokenizer_model;
      else if (it != generated.end())
        artifacts[member] = it->second;
      else
        throw Error(str_cat(model.path, ": the config refers to ", key, " = nemo:", member,
                            ", which an .h5 does not carry; export from the original .nemo"));
    }
  }
  StateDict weights;
  for (const auto& [k, t] : model.weights) weights.emplace(k, t);
  const std::string config_yaml = with_validation_ds(model.config, model.path);
  write_nemo(path, config_yaml, weights, artifacts);
  const ModelFile back = load_model_file(path);
  if (back.config.yaml != config_yaml || back.tokenizer_model != model.tokenizer_model ||
      back.weights.size() != weights.size())
    throw Error(str_cat(path, ": verification failed: config, tokenizer or weight count differ"));
  for (const auto& [k, t] : weights) {
    auto it = back.weights.find(k);
    const Tensor a = t.contiguous();
    if (it == back.weights.end() || it->second.shape() != a.shape() ||
        std::memcmp(a.raw_data(), it->second.contiguous().raw_data(), a.nbytes()) != 0)
      throw Error(str_cat(path, ": verification failed: '", k, "' differs"));
  }
}

}  // namespace asr::io
