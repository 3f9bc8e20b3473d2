// inspect_shard: reads a finished shard's attributes and per-utterance arrays (not its features)
// and checks that they describe one consistent file. Used to resume and to build index.json.
#include <cstdint>
#include <vector>

#include "asr/data/shard_writer.h"
#include "shard_h5.h"

namespace asr::data {
namespace {

std::string read_string_attr(hid_t obj, const char* name, const std::string& path) {
  if (H5Aexists(obj, name) <= 0) throw Error(str_cat(path, ": attribute '", name, "' is missing"));
  h5::Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  h5::Id ftype(H5Aget_type(attr), H5Tclose);
  if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) <= 0)
    throw Error(str_cat(path, ": attribute '", name, "' is not a variable-length string"));
  h5::Id type(h5::utf8_string_type(), H5Tclose);
  char* s = nullptr;
  h5::check(H5Aread(attr, type, &s), path, str_cat("read attribute '", name, "'"));
  std::string out = s ? s : "";
  H5free_memory(s);
  return out;
}

int64_t read_int_attr(hid_t obj, const char* name, const std::string& path) {
  if (H5Aexists(obj, name) <= 0) throw Error(str_cat(path, ": attribute '", name, "' is missing"));
  h5::Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  h5::Id ftype(H5Aget_type(attr), H5Tclose);
  if (H5Tget_class(ftype) != H5T_INTEGER) throw Error(str_cat(path, ": attribute '", name, "' is not an integer"));
  int64_t v = 0;
  h5::check(H5Aread(attr, H5T_NATIVE_INT64, &v), path, str_cat("read attribute '", name, "'"));
  return v;
}

h5::Id open_dataset(hid_t file, const char* name, const std::string& path) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) throw Error(str_cat(path, ": dataset '", name, "' is missing"));
  h5::Id ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(str_cat(path, ": cannot open dataset '", name, "'"));
  return ds;
}

std::vector<hsize_t> extent(hid_t ds) {
  h5::Id space(H5Dget_space(ds), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(nd, 0)));
  if (nd > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

// A 1-D dataset of `expected` elements (or any length when expected < 0), read as `mem_type`.
template <typename T>
std::vector<T> read_1d(hid_t file, const char* name, hid_t mem_type, int64_t expected, const std::string& path) {
  h5::Id ds = open_dataset(file, name, path);
  const auto dims = extent(ds);
  if (dims.size() != 1 || (expected >= 0 && static_cast<int64_t>(dims[0]) != expected))
    throw Error(str_cat(path, ": dataset '", name, "' should be 1-D with ", expected, " elements"));
  std::vector<T> out(dims[0]);
  if (!out.empty())
    h5::check(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path, str_cat("read '", name, "'"));
  return out;
}

void check_string_dataset(hid_t file, const char* name, int64_t expected, const std::string& path) {
  h5::Id ds = open_dataset(file, name, path);
  const auto dims = extent(ds);
  h5::Id type(H5Dget_type(ds), H5Tclose);
  if (dims.size() != 1 || static_cast<int64_t>(dims[0]) != expected || H5Tget_class(type) != H5T_STRING)
    throw Error(str_cat(path, ": dataset '", name, "' should hold ", expected, " strings"));
}

// offsets[i] == sum of lengths[0..i): utterances are stored back to back, in order.
int64_t check_packed(const std::vector<int64_t>& offsets, const std::vector<int64_t>& lengths, const char* what,
                     const std::string& path) {
  int64_t pos = 0;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (offsets[i] != pos || lengths[i] < 0)
      throw Error(str_cat(path, ": ", what, " offsets/lengths are inconsistent at utterance ", i));
    pos += lengths[i];
  }
  return pos;
}

}  // namespace

ShardSummary inspect_shard(const std::string& path) {
  h5::Quiet quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(str_cat(path, ": not an HDF5 file (missing or truncated)"));
  h5::Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw Error(str_cat(path, ": cannot open the shard (corrupt or truncated?)"));

  ShardSummary s;
  s.schema_version = read_int_attr(file, shard_keys::kSchemaVersion, path);
  if (s.schema_version != kShardSchemaVersion)
    throw Error(str_cat(path, ": schema_version ", s.schema_version, " is not supported (expected ", kShardSchemaVersion, ")"));
  s.header.preprocessor_fingerprint = read_string_attr(file, shard_keys::kPreprocessorFingerprint, path);
  s.header.tokenizer_fingerprint = read_string_attr(file, shard_keys::kTokenizerFingerprint, path);
  s.header.n_mels = read_int_attr(file, shard_keys::kNumMels, path);
  s.header.feature_dtype = read_string_attr(file, shard_keys::kFeatureDtype, path);
  s.utterances = read_int_attr(file, shard_keys::kUtterances, path);
  if (H5Aexists(file, shard_keys::kSourceFingerprint) > 0)
    s.header.source_fingerprint = read_string_attr(file, shard_keys::kSourceFingerprint, path);
  if (H5Aexists(file, shard_keys::kSkipped) > 0) s.skipped_json = read_string_attr(file, shard_keys::kSkipped, path);
  if (s.header.n_mels <= 0 || s.utterances < 0) throw Error(str_cat(path, ": bad n_mels or utterances attribute"));

  const size_t elem = s.header.feature_dtype == "f16" ? 2 : s.header.feature_dtype == "f32" ? 4 : 0;
  if (!elem) throw Error(str_cat(path, ": feature_dtype '", s.header.feature_dtype, "' is not f16 or f32"));
  {
    h5::Id ds = open_dataset(file, shard_keys::kFeatures, path);
    const auto dims = extent(ds);
    h5::Id type(H5Dget_type(ds), H5Tclose);
    if (dims.size() != 2 || static_cast<int64_t>(dims[1]) != s.header.n_mels)
      throw Error(str_cat(path, ": dataset 'features' should be [frames, ", s.header.n_mels, "]"));
    if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != elem)
      throw Error(str_cat(path, ": dataset 'features' is not stored as ", s.header.feature_dtype));
    s.frames = static_cast<int64_t>(dims[0]);
  }
  const int64_t n = s.utterances;
  auto f_off = read_1d<int64_t>(file, shard_keys::kFeatureOffsets, H5T_NATIVE_INT64, n, path);
  auto f_len = read_1d<int64_t>(file, shard_keys::kFeatureLengths, H5T_NATIVE_INT64, n, path);
  auto t_off = read_1d<int64_t>(file, shard_keys::kTokenOffsets, H5T_NATIVE_INT64, n, path);
  auto t_len = read_1d<int64_t>(file, shard_keys::kTokenLengths, H5T_NATIVE_INT64, n, path);
  auto durations = read_1d<double>(file, shard_keys::kDurations, H5T_NATIVE_DOUBLE, n, path);
  if (check_packed(f_off, f_len, "feature", path) != s.frames)
    throw Error(str_cat(path, ": feature lengths do not add up to the ", s.frames, " rows of 'features'"));
  s.tokens = check_packed(t_off, t_len, "token", path);
  {
    h5::Id ds = open_dataset(file, shard_keys::kTokens, path);
    const auto dims = extent(ds);
    if (dims.size() != 1 || static_cast<int64_t>(dims[0]) != s.tokens)
      throw Error(str_cat(path, ": token lengths do not add up to the length of 'tokens'"));
  }
  check_string_dataset(file, shard_keys::kTranscripts, n, path);
  check_string_dataset(file, shard_keys::kAudioPaths, n, path);
  for (double d : durations) s.duration += d;
  return s;
}

}  // namespace asr::data
