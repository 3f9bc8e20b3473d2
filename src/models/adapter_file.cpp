// The adapter file (docs/checkpoint-format.md, "Adapter files"): /weights/<NeMo key> datasets,
// the specs as one JSON string attribute and the base model's fingerprint. Small enough to read
// into memory (no mmap); written atomically like the model checkpoint.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "asr/autograd/node.h"
#include "asr/io/hdf5_handles.h"
#include "asr/io/hdf5_tensor.h"
#include "asr/models/adapter_file.h"

namespace asr::models {
namespace {

constexpr const char* kFormat = "asr-adapt adapters";
constexpr int64_t kSchemaVersion = 1;
using ::asr::h5::check;
using ::asr::h5::Id;
using ::asr::h5::read_int_attr;
using ::asr::h5::read_string_attr;
using ::asr::h5::write_int_attr;
using ::asr::h5::write_string_attr;
using json = nlohmann::ordered_json;

// ---- specs <-> JSON (NeMo's adapter config field names) ---------------------------------------

json spec_to_json(const AdapterSpec& s) {
  json j;
  j["name"] = s.name;
  j["module"] = s.module;
  j["layers"] = s.layers;
  j["enabled"] = s.enabled;
  const AdapterConfig& c = s.config;
  json cfg;
  if (c.type == AdapterType::Linear) {
    cfg["type"] = "linear";
    cfg["dim"] = c.dim;
    cfg["activation"] = c.activation;
    cfg["norm_position"] = c.norm_position;
    cfg["dropout"] = c.dropout;
  } else {
    cfg["type"] = "rel_pos_mha";
    cfg["n_head"] = c.n_head;
    cfg["proj_dim"] = c.proj_dim ? json(*c.proj_dim) : json(nullptr);
    cfg["dropout_rate"] = c.dropout;
  }
  cfg["adapter_strategy"] = {{"stochastic_depth", c.strategy.stochastic_depth},
                             {"l2_lambda", c.strategy.l2_lambda}};
  j["config"] = cfg;
  return j;
}

template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw Error(str_cat(where, ": '", key, "' is missing"));
  // nlohmann converts a float to an integer with a plain cast: undefined behaviour for 1e300.
  auto not_integer = [](const json& v) { return !v.is_number_integer(); };
  bool bad = false;
  if constexpr (std::is_same_v<T, int64_t>) bad = not_integer(*it);
  if constexpr (std::is_same_v<T, std::vector<int64_t>>)
    bad = it->is_array() && std::any_of(it->begin(), it->end(), not_integer);
  if (bad) throw Error(str_cat(where, ": '", key, "' must hold integers, got ", it->dump()));
  try {
    return it->template get<T>();
  } catch (const json::exception&) {
    throw Error(str_cat(where, ": '", key, "' has the wrong type (", it->dump(), ")"));
  }
}

AdapterSpec spec_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(str_cat(where, ": not a JSON object"));
  AdapterSpec s;
  s.name = field<std::string>(j, "name", where);
  s.module = field<std::string>(j, "module", where);
  s.layers = field<std::vector<int64_t>>(j, "layers", where);
  s.enabled = field<bool>(j, "enabled", where);
  const json cfg = field<json>(j, "config", where);
  const std::string cwhere = where + ".config";
  if (!cfg.is_object()) throw Error(str_cat(cwhere, ": not a JSON object"));
  AdapterConfig& c = s.config;
  const std::string type = field<std::string>(cfg, "type", cwhere);
  if (type == "linear") {
    c.type = AdapterType::Linear;
    c.dim = field<int64_t>(cfg, "dim", cwhere);
    c.activation = field<std::string>(cfg, "activation", cwhere);
    c.norm_position = field<std::string>(cfg, "norm_position", cwhere);
    c.dropout = field<double>(cfg, "dropout", cwhere);
  } else if (type == "rel_pos_mha") {
    c.type = AdapterType::RelPositionMHA;
    c.n_head = field<int64_t>(cfg, "n_head", cwhere);
    const json p = field<json>(cfg, "proj_dim", cwhere);
    if (!p.is_null()) c.proj_dim = field<int64_t>(cfg, "proj_dim", cwhere);
    c.dropout = field<double>(cfg, "dropout_rate", cwhere);
  } else {
    throw Error(str_cat(cwhere, ": unknown adapter type '", type, "' (linear, rel_pos_mha)"));
  }
  const json st = field<json>(cfg, "adapter_strategy", cwhere);
  c.strategy.stochastic_depth = field<double>(st, "stochastic_depth", cwhere + ".adapter_strategy");
  c.strategy.l2_lambda = field<double>(st, "l2_lambda", cwhere + ".adapter_strategy");
  return s;
}

// The adapter a state key belongs to: the component after "adapter_layer", or "" for base keys.
std::string adapter_of_key(const std::string& key) {
  const std::string marker = "adapter_layer.";
  size_t start = 0;
  if (key.rfind(marker, 0) == 0) {
    start = marker.size();
  } else {
    const size_t pos = key.find("." + marker);
    if (pos == std::string::npos) return "";
    start = pos + 1 + marker.size();
  }
  const size_t end = key.find('.', start);
  return key.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// ---- HDF5 helpers -------------------------------------------------------------------------------

// Adapter weights are floating point; anything else in /weights is a corrupt or foreign file.
Tensor read_weight(hid_t group, const std::string& key, const std::string& path) {
  Tensor t = h5::read_tensor(group, key, path);
  if (!is_floating(t.dtype()))
    throw Error(str_cat(path, ": adapter weight '", key, "' is not a floating-point dataset"));
  return t.set_name(key);
}

}  // namespace

void save_adapter_file(const std::string& path, const ConformerCtcModel& model,
                       const std::vector<std::string>& names, const std::string& base_fingerprint,
                       const std::string& base_model) {
  std::vector<AdapterSpec> specs;
  const std::vector<AdapterSpec> all = model.adapter_specs();
  if (names.empty()) {
    specs = all;
  } else {
    for (const std::string& n : names) {
      auto it = std::find_if(all.begin(), all.end(), [&](const AdapterSpec& s) { return s.name == n; });
      if (it == all.end()) throw Error(str_cat(path, ": the model has no adapter named '", n, "' to save"));
      specs.push_back(*it);
    }
  }
  if (specs.empty()) throw Error(str_cat(path, ": the model has no adapters to save"));
  std::set<std::string> wanted;
  json spec_list = json::array();
  for (const AdapterSpec& s : specs) {
    wanted.insert(s.name);
    spec_list.push_back(spec_to_json(s));
  }

  h5::Quiet quiet;
  autograd::NoGradGuard no_grad;
  h5::AtomicFileWrite output(path);
  const std::string& tmp = output.temp_path();
  int64_t count = 0;
  {
    Id fapl(h5::aligned_file_access(), H5Pclose);
    Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
    if (!file.ok()) throw Error(str_cat(path, ": cannot create ", tmp));
    write_string_attr(file, "format", kFormat, path);
    write_int_attr(file, "schema_version", kSchemaVersion, path);
    write_string_attr(file, "asr_adapt_version", ASR_VERSION, path);
    write_string_attr(file, "base_fingerprint", base_fingerprint, path);
    write_string_attr(file, "base_model", base_model, path);
    write_string_attr(file, "adapters_json", spec_list.dump(), path);
    Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
    H5Pset_obj_track_times(gcpl, false);
    Id group(H5Gcreate2(file, "weights", H5P_DEFAULT, gcpl, H5P_DEFAULT), H5Gclose);
    if (!group.ok()) throw Error(str_cat(path, ": cannot create group /weights"));
    for (const auto& [key, tensor] : model.named_state()) {
      if (!wanted.count(adapter_of_key(key))) continue;
      h5::write_tensor(group, key, tensor, path);
      ++count;
    }
    write_int_attr(file, "num_weights", count, path);
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), path, "flush");
    if (H5Fclose(file.release()) < 0) throw Error(str_cat(path, ": cannot close ", tmp));
  }
  output.commit();
}

namespace {

// The reader behind both entry points; `file_access` picks the HDF5 driver (a file or an image).
AdapterFile read_adapter_hdf5(const std::string& path, hid_t file_access) {
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, file_access), H5Fclose);
  if (!file.ok()) throw Error(str_cat(path, ": cannot open as HDF5 (truncated or corrupt adapter file?)"));
  if (H5Aexists(file, "format") <= 0 || read_string_attr(file, "format", path) != kFormat)
    throw Error(str_cat(path, ": an HDF5 file, but not an asr-adapt adapter file (format attribute is not '",
                        kFormat, "')"));
  const int64_t version = read_int_attr(file, "schema_version", path);
  if (version != kSchemaVersion)
    throw Error(str_cat(path, ": adapter file schema version ", version, " is not supported (this build reads ",
                        kSchemaVersion, ")"));
  AdapterFile out;
  out.base_fingerprint = read_string_attr(file, "base_fingerprint", path);
  out.base_model = read_string_attr(file, "base_model", path);
  json list;
  try {
    list = json::parse(read_string_attr(file, "adapters_json", path));
  } catch (const json::exception& e) {
    throw Error(str_cat(path, ": attribute 'adapters_json' is not valid JSON (", e.what(), ")"));
  }
  if (!list.is_array() || list.empty()) throw Error(str_cat(path, ": 'adapters_json' lists no adapters"));
  for (size_t i = 0; i < list.size(); ++i)
    out.specs.push_back(spec_from_json(list[i], str_cat(path, ": adapters_json[", i, "]")));

  if (H5Lexists(file, "weights", H5P_DEFAULT) <= 0) throw Error(str_cat(path, ": group /weights is missing"));
  Id group(H5Gopen2(file, "weights", H5P_DEFAULT), H5Gclose);
  const std::vector<std::string> keys = h5::member_names(group, path);
  const int64_t expected = read_int_attr(file, "num_weights", path);
  if (static_cast<int64_t>(keys.size()) != expected)
    throw Error(str_cat(path, ": /weights holds ", keys.size(), " datasets but num_weights says ", expected,
                        " (truncated or corrupt file?)"));
  for (const std::string& key : keys) out.weights.emplace(key, read_weight(group, key, path));
  return out;
}

}  // namespace

AdapterFile read_adapter_file(const std::string& path) {
  h5::Quiet quiet;
  if (::access(path.c_str(), R_OK) != 0)
    throw Error(str_cat(path, ": cannot open adapter file (", std::strerror(errno), ")"));
  return read_adapter_hdf5(path, H5P_DEFAULT);
}

AdapterFile read_adapter_file_image(const std::string& image, const std::string& source) {
  h5::Quiet quiet;
  Id access(h5::file_image_access(image), H5Pclose);
  if (!access.ok()) throw Error(str_cat(source, ": cannot set up an in-memory HDF5 file"));
  return read_adapter_hdf5(source, access);
}

void apply_adapter_file(ConformerCtcModel& model, const AdapterFile& file, const std::string& model_fingerprint,
                        const std::string& file_path) {
  if (file.base_fingerprint != model_fingerprint)
    throw Error(str_cat(file_path, ": adapter trained on a different base model (file's base fingerprint ",
                        file.base_fingerprint, ", this model's ", model_fingerprint,
                        file.base_model.empty() ? "" : str_cat("; it was trained on ", file.base_model), ")"));
  // Checks that need no model change come first, so a refused file leaves the model untouched.
  const std::vector<std::string> existing = model.adapter_names();
  std::set<std::string> names;
  for (const AdapterSpec& s : file.specs) {
    if (std::find(existing.begin(), existing.end(), s.name) != existing.end())
      throw Error(str_cat(file_path, ": the model already has an adapter named '", s.name, "'"));
    if (!names.insert(s.name).second)
      throw Error(str_cat(file_path, ": adapter '", s.name, "' is listed twice"));
  }
  for (const auto& [key, t] : file.weights)
    if (!names.count(adapter_of_key(key)))
      throw Error(str_cat(file_path, ": weight '", key, "' belongs to no adapter listed in the file"));

  for (const AdapterSpec& s : file.specs) {
    try {
      model.add_adapter(s);
    } catch (const Error& e) {
      throw Error(str_cat(file_path, ": adapter '", s.name, "': ", e.what()));
    }
  }
  autograd::NoGradGuard no_grad;
  io::StateDict state;
  for (const auto& [key, t] : model.named_state()) {
    if (!names.count(adapter_of_key(key))) continue;
    auto it = file.weights.find(key);
    if (it == file.weights.end()) throw Error(str_cat(file_path, ": adapter weight '", key, "' is missing"));
    if (it->second.shape() != t.shape())
      throw Error(str_cat(file_path, ": adapter weight '", key, "' has shape ", shape_str(it->second.shape()),
                          ", but the model needs ", shape_str(t.shape())));
    // A copy: training the model afterwards must not write into `file`.
    Tensor copy = Tensor::empty(t.shape(), t.dtype());
    copy.copy_(it->second);
    state.emplace(key, copy);
  }
  for (const auto& [key, t] : file.weights)
    if (!state.count(key)) throw Error(str_cat(file_path, ": weight '", key, "' matches no adapter parameter"));
  try {
    model.load_state_dict(state, /*strict=*/false);
  } catch (const Error& e) {
    throw Error(str_cat(file_path, ": ", e.what()));
  }
}

}  // namespace asr::models
