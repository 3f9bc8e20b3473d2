// ShardWriter: streams features into a chunked, extendible /features dataset one chunk at a time
// (memory stays at one chunk plus the small per-utterance arrays), then writes the rest.
#include "asr/data/shard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "asr/core/dtype.h"
#include "asr/util/disk_space.h"
#include "shard_h5.h"

namespace asr::data {
namespace {

std::string temp_path_for(const std::string& final_path) {
  const size_t slash = final_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : final_path.substr(0, slash);
  const std::string name = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
  return dir + "/." + name + ".tmp";
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

std::string base_of(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

void fsync_path(const std::string& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw Error(str_cat(p, ": cannot open for fsync (", std::strerror(errno), ")"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(str_cat(p, ": fsync failed (", std::strerror(errno), ")"));
}

h5::Id dataset_creation() {
  h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl, false);  // no timestamps: identical inputs give identical bytes
  return dcpl;
}

void write_int_attr(hid_t obj, const char* name, int64_t value, const std::string& path) {
  h5::Id space(H5Screate(H5S_SCALAR), H5Sclose);
  h5::Id attr(H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || H5Awrite(attr, H5T_NATIVE_INT64, &value) < 0)
    throw Error(str_cat(path, ": cannot write attribute ", name));
}

void write_string_attr(hid_t obj, const char* name, const std::string& value, const std::string& path) {
  h5::Id type(h5::utf8_string_type(), H5Tclose);
  h5::Id space(H5Screate(H5S_SCALAR), H5Sclose);
  h5::Id attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* p = value.c_str();
  if (!attr.ok() || H5Awrite(attr, type, &p) < 0) throw Error(str_cat(path, ": cannot write attribute ", name));
}

// A contiguous 1-D dataset of n elements.
void write_1d(hid_t file, const char* name, hid_t file_type, hid_t mem_type, size_t n, const void* data,
              const std::string& path) {
  const hsize_t dims[1] = {n};
  h5::Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  h5::Id dcpl = dataset_creation();
  h5::Id ds(H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(str_cat(path, ": cannot create dataset '", name, "'"));
  if (n > 0) h5::check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, str_cat("write '", name, "'"));
}

void write_strings(hid_t file, const char* name, const std::vector<std::string>& values, const std::string& path) {
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  h5::Id type(h5::utf8_string_type(), H5Tclose);
  write_1d(file, name, type, type, ptrs.size(), ptrs.data(), path);
}

}  // namespace

struct ShardWriter::Impl {
  std::string final_path, tmp_path;
  ShardHeader header;
  int64_t chunk_frames = 0;
  size_t elem = 4;
  h5::Id file, features, feature_type;
  std::vector<unsigned char> staging;  // up to one chunk of rows in the file's dtype
  int64_t staged_rows = 0, written_rows = 0;
  std::vector<int64_t> feature_offsets, feature_lengths, token_offsets, token_lengths;
  std::vector<int32_t> tokens;
  std::vector<double> durations;
  std::vector<std::string> transcripts, audio_paths;
  bool finished = false;

  void flush_rows() {
    if (staged_rows == 0) return;
    h5::Quiet quiet;
    const hsize_t n_mels = static_cast<hsize_t>(header.n_mels);
    const hsize_t new_dims[2] = {static_cast<hsize_t>(written_rows + staged_rows), n_mels};
    h5::check(H5Dset_extent(features, new_dims), tmp_path, "extend /features");
    h5::Id fspace(H5Dget_space(features), H5Sclose);
    const hsize_t start[2] = {static_cast<hsize_t>(written_rows), 0};
    const hsize_t count[2] = {static_cast<hsize_t>(staged_rows), n_mels};
    h5::check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), tmp_path,
              "select rows of /features");
    h5::Id mspace(H5Screate_simple(2, count, nullptr), H5Sclose);
    h5::check(H5Dwrite(features, feature_type, mspace, fspace, H5P_DEFAULT, staging.data()), tmp_path,
              "write /features");
    written_rows += staged_rows;
    staged_rows = 0;
  }

  // HDF5 errors do not carry errno: name a full disk when that is the cause.
  [[noreturn]] void explain(const Error& e) const { throw Error(str_cat(e.what(), util::disk_full_note(dir_of(tmp_path)))); }
  void flush_rows_or_explain() {
    try {
      flush_rows();
    } catch (const Error& e) {
      explain(e);
    }
  }
};

ShardWriter::ShardWriter(const std::string& final_path, const ShardHeader& header, int64_t chunk_frames)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (header.feature_dtype != "f16" && header.feature_dtype != "f32")
    throw Error(str_cat(final_path, ": feature dtype must be f16 or f32, got '", header.feature_dtype, "'"));
  if (header.n_mels <= 0 || chunk_frames <= 0)
    throw Error(str_cat(final_path, ": n_mels and the chunk size must be positive"));
  m.final_path = final_path;
  m.tmp_path = temp_path_for(final_path);
  m.header = header;
  m.chunk_frames = chunk_frames;
  m.elem = header.feature_dtype == "f16" ? 2 : 4;
  m.staging.resize(static_cast<size_t>(chunk_frames * header.n_mels) * m.elem);

  h5::Quiet quiet;
  std::remove(m.tmp_path.c_str());
  m.file = h5::Id(H5Fcreate(m.tmp_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!m.file.ok()) throw Error(str_cat(m.tmp_path, ": cannot create the shard file (", std::strerror(errno), ")"));
  m.feature_type = h5::Id(m.elem == 2 ? h5::f16_type() : H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
  const hsize_t dims[2] = {0, static_cast<hsize_t>(header.n_mels)};
  const hsize_t maxdims[2] = {H5S_UNLIMITED, static_cast<hsize_t>(header.n_mels)};
  const hsize_t chunk[2] = {static_cast<hsize_t>(chunk_frames), static_cast<hsize_t>(header.n_mels)};
  h5::Id space(H5Screate_simple(2, dims, maxdims), H5Sclose);
  h5::Id dcpl = dataset_creation();
  H5Pset_chunk(dcpl, 2, chunk);
  m.features = h5::Id(H5Dcreate2(m.file, shard_keys::kFeatures, m.feature_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                      H5Dclose);
  if (!m.features.ok()) throw Error(str_cat(m.tmp_path, ": cannot create dataset '", shard_keys::kFeatures, "'"));
}

ShardWriter::~ShardWriter() {
  if (!impl_ || impl_->finished) return;
  h5::Quiet quiet;
  impl_->features.reset();
  impl_->file.reset();
  std::remove(impl_->tmp_path.c_str());
}

int64_t ShardWriter::utterances() const { return static_cast<int64_t>(impl_->durations.size()); }

void ShardWriter::add(const float* features, int64_t frames, const std::vector<int32_t>& tokens, double duration,
                      const std::string& transcript, const std::string& audio_path) {
  Impl& m = *impl_;
  if (m.finished) throw Error(str_cat(m.final_path, ": add() after finish()"));
  if (frames <= 0) throw Error(str_cat(m.final_path, ": an utterance needs at least one feature frame (", audio_path, ")"));
  const int64_t n_mels = m.header.n_mels;
  m.feature_offsets.push_back(m.written_rows + m.staged_rows);
  m.feature_lengths.push_back(frames);
  for (int64_t row = 0; row < frames;) {
    const int64_t take = std::min(frames - row, m.chunk_frames - m.staged_rows);
    const float* src = features + row * n_mels;
    unsigned char* dst = m.staging.data() + static_cast<size_t>(m.staged_rows * n_mels) * m.elem;
    const int64_t n = take * n_mels;
    if (m.elem == 4) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    } else {
      auto* d16 = reinterpret_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d16[i] = float_to_f16(src[i]);
    }
    m.staged_rows += take;
    row += take;
    if (m.staged_rows == m.chunk_frames) m.flush_rows_or_explain();
  }
  m.token_offsets.push_back(static_cast<int64_t>(m.tokens.size()));
  m.token_lengths.push_back(static_cast<int64_t>(tokens.size()));
  m.tokens.insert(m.tokens.end(), tokens.begin(), tokens.end());
  m.durations.push_back(duration);
  m.transcripts.push_back(transcript);
  m.audio_paths.push_back(audio_path);
}

ShardInfo ShardWriter::finish(const std::string& skipped_json) { return close(skipped_json)(); }

std::function<ShardInfo()> ShardWriter::close(const std::string& skipped_json) {
  Impl& m = *impl_;
  if (m.finished) throw Error(str_cat(m.final_path, ": the shard was already closed"));
  m.flush_rows_or_explain();
  try {
    h5::Quiet quiet;
    const std::string& p = m.tmp_path;
    const size_t n = m.durations.size();
    write_1d(m.file, shard_keys::kFeatureOffsets, H5T_STD_I64LE, H5T_NATIVE_INT64, n, m.feature_offsets.data(), p);
    write_1d(m.file, shard_keys::kFeatureLengths, H5T_STD_I64LE, H5T_NATIVE_INT64, n, m.feature_lengths.data(), p);
    write_1d(m.file, shard_keys::kTokens, H5T_STD_I32LE, H5T_NATIVE_INT32, m.tokens.size(), m.tokens.data(), p);
    write_1d(m.file, shard_keys::kTokenOffsets, H5T_STD_I64LE, H5T_NATIVE_INT64, n, m.token_offsets.data(), p);
    write_1d(m.file, shard_keys::kTokenLengths, H5T_STD_I64LE, H5T_NATIVE_INT64, n, m.token_lengths.data(), p);
    write_1d(m.file, shard_keys::kDurations, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, m.durations.data(), p);
    write_strings(m.file, shard_keys::kTranscripts, m.transcripts, p);
    write_strings(m.file, shard_keys::kAudioPaths, m.audio_paths, p);
    write_int_attr(m.file, shard_keys::kSchemaVersion, kShardSchemaVersion, p);
    write_string_attr(m.file, shard_keys::kPreprocessorFingerprint, m.header.preprocessor_fingerprint, p);
    write_string_attr(m.file, shard_keys::kTokenizerFingerprint, m.header.tokenizer_fingerprint, p);
    write_int_attr(m.file, shard_keys::kNumMels, m.header.n_mels, p);
    write_string_attr(m.file, shard_keys::kFeatureDtype, m.header.feature_dtype, p);
    write_int_attr(m.file, shard_keys::kUtterances, static_cast<int64_t>(n), p);
    write_string_attr(m.file, shard_keys::kSourceFingerprint, m.header.source_fingerprint, p);
    write_string_attr(m.file, shard_keys::kSkipped, skipped_json.empty() ? "[]" : skipped_json, p);
    m.features.reset();
    m.feature_type.reset();
    h5::check(H5Fclose(m.file.release()), p, "close the shard file");
  } catch (const Error& e) {
    m.explain(e);  // the destructor removes the temporary file
  }
  m.finished = true;  // from here on the temp file is the publisher's (a re-run removes leftovers)

  ShardInfo info;
  info.file = base_of(m.final_path);
  info.utterances = static_cast<int64_t>(m.durations.size());
  info.frames = m.written_rows;
  for (double d : m.durations) info.duration += d;
  return [info, tmp = m.tmp_path, final_path = m.final_path]() mutable {
    fsync_path(tmp, false);
    if (std::rename(tmp.c_str(), final_path.c_str()) != 0)
      throw Error(str_cat(final_path, ": cannot rename ", tmp, " into place (", std::strerror(errno), ")"));
    fsync_path(dir_of(final_path), true);
    info.checksum = file_checksum(final_path);
    return info;
  };
}

}  // namespace asr::data
