// Fingerprints, checksums and DIR/index.json (docs/shard-format.md).
#include "asr/data/shard_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "asr/core/error.h"
#include "hash64.h"

namespace asr::data {
namespace {

constexpr const char* kIndexFile = "index.json";

std::string index_path(const std::string& dir) { return dir + "/" + kIndexFile; }

// Doubles as text with round-trip precision, so the digest does not depend on locale or printf.
std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void fsync_path(const std::string& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw Error(str_cat(p, ": cannot open for fsync (", std::strerror(errno), ")"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(str_cat(p, ": fsync failed (", std::strerror(errno), ")"));
}

template <typename T>
T get_field(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) throw Error(str_cat(where, ": missing \"", key, "\""));
  // nlohmann converts a float to an integer with a plain cast: undefined behaviour for 1e300.
  if constexpr (std::is_integral_v<T>)
    if (!obj.at(key).is_number_integer())
      throw Error(str_cat(where, ": \"", key, "\" has the wrong type (", obj.at(key).dump(), "; expected an integer)"));
  try {
    return obj.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(str_cat(where, ": \"", key, "\" has the wrong type (", obj.at(key).dump(), ")"));
  }
}

}  // namespace

std::string preprocessor_fingerprint(const io::PreprocessorConfig& c, const std::vector<float>& filterbank,
                                     const std::vector<float>& window) {
  // Every setting that changes the features; dither (training only), pad_to and pad_value (batch
  // padding, not stored) are left out on purpose.
  std::ostringstream s;
  s << "sample_rate=" << c.sample_rate << ";win_length=" << c.win_length() << ";hop_length=" << c.hop_length()
    << ";n_fft=" << c.fft_size() << ";window=" << c.window << ";features=" << c.features
    << ";normalize=" << c.normalize << ";log=" << c.log << ";preemph=" << exact(c.preemph)
    << ";lowfreq=" << exact(c.lowfreq) << ";highfreq=" << exact(c.highfreq)
    << ";log_zero_guard_type=" << c.log_zero_guard_type << ";log_zero_guard_value=" << exact(c.log_zero_guard_value)
    << ";mag_power=" << exact(c.mag_power) << ";mel_norm=" << c.mel_norm << ";exact_pad=" << c.exact_pad
    << ";frame_splicing=" << c.frame_splicing << ";legacy_nemo_pre_2_5=" << c.legacy_nemo_pre_2_5
    << ";fb=" << filterbank.size() << ";window_len=" << window.size() << ";";
  detail::Hash64 h;
  h.update(s.str());
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "buffer bytes are hashed as little-endian f32");
  h.update(filterbank.data(), filterbank.size() * sizeof(float));
  h.update(window.data(), window.size() * sizeof(float));
  return detail::format_digest(h.digest());
}

std::string tokenizer_fingerprint(const std::string& sentencepiece_model_bytes) {
  return detail::format_digest(detail::hash64(sentencepiece_model_bytes.data(), sentencepiece_model_bytes.size()));
}

std::string file_checksum(const std::string& path) { return detail::format_digest(detail::file_hash64(path)); }

ShardIndex read_shard_index(const std::string& dir) {
  const std::string path = index_path(dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open the shard index (run `asr-adapt shard` to create it)"));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_shard_index(text.str(), path);
}

ShardIndex parse_shard_index(const std::string& json_text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(path, ": not valid JSON (", e.what(), ")"));
  }
  if (!j.is_object()) throw Error(str_cat(path, ": not a JSON object"));
  ShardIndex idx;
  idx.schema_version = get_field<int64_t>(j, "schema_version", path);
  if (idx.schema_version != kShardSchemaVersion)
    throw Error(str_cat(path, ": schema_version ", idx.schema_version, " is not supported (expected ",
                        kShardSchemaVersion, ")"));
  idx.preprocessor_fingerprint = get_field<std::string>(j, "preprocessor_fingerprint", path);
  idx.tokenizer_fingerprint = get_field<std::string>(j, "tokenizer_fingerprint", path);
  idx.n_mels = get_field<int64_t>(j, "n_mels", path);
  idx.feature_dtype = get_field<std::string>(j, "dtype", path);
  if (idx.feature_dtype != "f16" && idx.feature_dtype != "f32")
    throw Error(str_cat(path, ": \"dtype\" must be \"f16\" or \"f32\", got \"", idx.feature_dtype, "\""));
  if (idx.n_mels <= 0) throw Error(str_cat(path, ": \"n_mels\" must be positive"));
  if (!j.contains("shards") || !j["shards"].is_array()) throw Error(str_cat(path, ": missing \"shards\" array"));
  for (size_t i = 0; i < j["shards"].size(); ++i) {
    const auto& s = j["shards"][i];
    const std::string where = str_cat(path, ": shards[", i, "]");
    ShardInfo info;
    info.file = get_field<std::string>(s, "file", where);
    info.utterances = get_field<int64_t>(s, "utterances", where);
    info.frames = get_field<int64_t>(s, "frames", where);
    info.duration = get_field<double>(s, "duration", where);
    info.checksum = get_field<std::string>(s, "checksum", where);
    if (info.file.empty() || info.file.find('/') != std::string::npos)
      throw Error(str_cat(where, ": \"file\" must be a file name inside the shard directory"));
    if (info.utterances < 0 || info.frames < 0) throw Error(str_cat(where, ": negative counts"));
    idx.shards.push_back(std::move(info));
  }
  return idx;
}

void write_shard_index(const std::string& dir, const ShardIndex& index) {
  nlohmann::ordered_json j;
  j["schema_version"] = index.schema_version;
  j["preprocessor_fingerprint"] = index.preprocessor_fingerprint;
  j["tokenizer_fingerprint"] = index.tokenizer_fingerprint;
  j["n_mels"] = index.n_mels;
  j["dtype"] = index.feature_dtype;
  j["shards"] = nlohmann::ordered_json::array();
  for (const auto& s : index.shards) {
    nlohmann::ordered_json e;
    e["file"] = s.file;
    e["utterances"] = s.utterances;
    e["frames"] = s.frames;
    e["duration"] = s.duration;
    e["checksum"] = s.checksum;
    j["shards"].push_back(std::move(e));
  }
  const std::string path = index_path(dir), tmp = dir + "/." + kIndexFile + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(str_cat(tmp, ": cannot create (", std::strerror(errno), ")"));
    out << j.dump(2) << '\n';
    out.close();
    if (!out) throw Error(str_cat(tmp, ": write failed"));
  }
  fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(str_cat(path, ": cannot rename ", tmp, " into place (", std::strerror(errno), ")"));
  fsync_path(dir, true);
}

}  // namespace asr::data
