// HDF5 access for one feature shard: open once, validate the per-utterance arrays against the
// dataset sizes, then read single utterances with hyperslab selections.
#include "shard_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "asr/core/dtype.h"
#include "asr/core/error.h"
#include "asr/data/shard_format.h"
#include "asr/io/hdf5_handles.h"

namespace asr::data::detail {

std::mutex& hdf5_mutex() {
  static std::mutex mu;
  return mu;
}

namespace {

// Bounds on what one shard may declare. An HDF5 dataset can claim any extent without storing it
// (unallocated chunks read as the fill value), so a crafted or damaged shard could otherwise make
// the reader allocate gigabytes before a read fails. Each bound is far above any real shard.
constexpr int64_t kMaxMelBins = 1024;
constexpr int64_t kMaxUtterances = int64_t{1} << 22;            // per shard
constexpr int64_t kMaxUtteranceValues = int64_t{1} << 27;       // frames x mels: 512 MiB of f32
constexpr int64_t kMaxUtteranceTokens = int64_t{1} << 20;

// Holds the HDF5 lock and silences HDF5's own error printing on this thread (thread-safe
// builds keep one error stack per thread); failures surface as asr::Error instead.
class Hdf5Lock {
 public:
  Hdf5Lock() : lock_(hdf5_mutex()) {
    H5Eget_auto2(H5E_DEFAULT, &fn_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Hdf5Lock() { H5Eset_auto2(H5E_DEFAULT, fn_, data_); }

 private:
  std::lock_guard<std::mutex> lock_;
  H5E_auto2_t fn_ = nullptr;
  void* data_ = nullptr;
};

using ::asr::h5::Id;

std::vector<hsize_t> dims_of(hid_t ds) {
  Id space(H5Dget_space(ds), H5Sclose);
  if (!space.ok()) return {};
  const int nd = H5Sget_simple_extent_ndims(space);
  if (nd < 0) return {};
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  if (nd > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

hid_t open_dataset(hid_t file, const char* name, const std::string& path) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
    throw Error(str_cat(path, ": corrupt shard: no dataset /", name));
  if (!::asr::h5::is_hard_link(file, name))
    throw Error(str_cat(path, ": corrupt shard: /", name, " is a soft or external link (refused)"));
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) throw Error(str_cat(path, ": corrupt shard: cannot open dataset /", name));
  try {
    ::asr::h5::check_dataset_storage(ds, path, name);
  } catch (...) {
    H5Dclose(ds);
    throw;
  }
  return ds;
}

// Selects rows [start, start+count) of a 1-D or 2-D dataset and reads them as `mem_type`.
void read_rows(hid_t ds, hid_t mem_type, int64_t start, int64_t count, int64_t row_width,
               void* dst, const std::string& path, const char* name) {
  if (count <= 0) return;
  Id fspace(H5Dget_space(ds), H5Sclose);
  const int nd = fspace.ok() ? H5Sget_simple_extent_ndims(fspace) : -1;
  hsize_t off[2] = {static_cast<hsize_t>(start), 0};
  hsize_t cnt[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(row_width)};
  // The memory space has the file selection's shape: HDF5 then maps whole chunks at once
  // instead of iterating element by element (5-10x faster for a 1-D memory space).
  Id mspace(H5Screate_simple(nd == 2 ? 2 : 1, cnt, nullptr), H5Sclose);
  if (nd < 1 || !mspace.ok() ||
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, nullptr, cnt, nullptr) < 0 ||
      H5Dread(ds, mem_type, mspace, fspace, H5P_DEFAULT, dst) < 0)
    throw Error(str_cat(path, ": corrupt shard: cannot read /", name, " rows ", start, "..",
                        start + count));
}

// A whole 1-D dataset of exactly n elements, converted by HDF5 to `mem_type`.
template <typename T>
std::vector<T> read_array(hid_t file, const char* name, hid_t mem_type, int64_t n,
                          const std::string& path) {
  Id ds(open_dataset(file, name, path), H5Dclose);
  const auto dims = dims_of(ds);
  if (dims.size() != 1 || static_cast<int64_t>(dims[0]) != n)
    throw Error(str_cat(path, ": corrupt shard: /", name, " should hold ", n, " values"));
  Id type(H5Dget_type(ds), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw Error(str_cat(path, ": corrupt shard: /", name, " is not numeric"));
  std::vector<T> out(static_cast<size_t>(n));
  if (n > 0 && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw Error(str_cat(path, ": corrupt shard: cannot read /", name));
  return out;
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

int64_t int_attr(hid_t obj, const char* name, const std::string& path) {
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  int64_t v = 0;
  if (!attr.ok() || H5Aread(attr, H5T_NATIVE_INT64, &v) < 0)
    throw Error(str_cat(path, ": corrupt shard: attribute '", name, "' is not an integer"));
  return v;
}

std::string string_attr(hid_t obj, const char* name, const std::string& path) {
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Id type(attr.ok() ? H5Aget_type(attr) : -1, H5Tclose);
  if (!type.ok() || H5Tget_class(type) != H5T_STRING)
    throw Error(str_cat(path, ": corrupt shard: attribute '", name, "' is not a string"));
  if (H5Tis_variable_str(type) > 0) {
    char* s = nullptr;
    if (H5Aread(attr, type, &s) < 0 || !s)
      throw Error(str_cat(path, ": corrupt shard: cannot read attribute '", name, "'"));
    std::string out(s);
    H5free_memory(s);
    return out;
  }
  ::asr::h5::check_fixed_string_size(type, path, str_cat("corrupt shard: attribute '", name, "'"));
  std::vector<char> buf(H5Tget_size(type) + 1, '\0');
  if (H5Aread(attr, type, buf.data()) < 0)
    throw Error(str_cat(path, ": corrupt shard: cannot read attribute '", name, "'"));
  return std::string(buf.data());
}

// IEEE binary16, little-endian, as h5py and the shard writer store numpy float16.
bool is_ieee_half(hid_t type) {
  if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 2 || H5Tget_order(type) != H5T_ORDER_LE)
    return false;
  size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return false;
  return spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10 && H5Tget_ebias(type) == 15;
}

// f16 -> f32 for every bit pattern (256 KiB, built once): one load per value.
const float* half_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_float(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

// [rows, cols] row-major -> dst[c * stride + r], in blocks of rows that stay in L1.
template <typename T, typename Convert>
void transpose(const T* src, int64_t rows, int64_t cols, float* dst, int64_t stride, Convert conv) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    for (int64_t c = 0; c < cols; ++c) {
      float* out = dst + c * stride;
      for (int64_t r = r0; r < r1; ++r) out[r] = conv(src[r * cols + c]);
    }
  }
}

void check_range(const std::vector<int64_t>& offsets, const std::vector<int64_t>& lengths,
                 int64_t limit, const char* what, const std::string& path) {
  for (size_t i = 0; i < offsets.size(); ++i) {
    const int64_t o = offsets[i], n = lengths[i];
    if (o < 0 || n < 0 || o > limit || n > limit - o)
      throw Error(str_cat(path, ": corrupt shard: utterance ", i, " has ", what, " offset ", o,
                          " length ", n, " outside the ", limit, " stored"));
  }
}

}  // namespace

ShardFile::ShardFile(const std::string& path) : ShardFile(path, H5P_DEFAULT) {}

ShardFile::ShardFile(const std::string& path, hid_t file_access) : path_(path) {
  Hdf5Lock lock;
  if (file_access == H5P_DEFAULT && H5Fis_hdf5(path.c_str()) <= 0) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw Error(str_cat(path, ": cannot open shard (missing or unreadable)"));
    std::fclose(f);
    throw Error(str_cat(path, ": corrupt shard: not a readable HDF5 file (truncated?)"));
  }
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, file_access);
  if (file_ < 0) throw Error(str_cat(path, ": corrupt shard: HDF5 cannot open it (truncated?)"));
  try {
    features_ = open_dataset(file_, shard_keys::kFeatures, path_);
    tokens_ = open_dataset(file_, shard_keys::kTokens, path_);
    transcripts_ = open_dataset(file_, shard_keys::kTranscripts, path_);
    const auto fd = dims_of(features_);
    if (fd.size() != 2 || fd[1] == 0)
      throw Error(str_cat(path_, ": corrupt shard: /features is not [frames, n_mels]"));
    if (fd[1] > static_cast<hsize_t>(kMaxMelBins))
      throw Error(str_cat(path_, ": corrupt shard: /features has ", fd[1], " mel bins (at most ",
                          kMaxMelBins, ")"));
    feature_rows_ = static_cast<int64_t>(fd[0]);
    n_mels_ = static_cast<int64_t>(fd[1]);
    const auto td = dims_of(tokens_);
    if (td.size() != 1) throw Error(str_cat(path_, ": corrupt shard: /tokens is not 1-D"));
    token_count_ = static_cast<int64_t>(td[0]);
    const auto sd = dims_of(transcripts_);
    if (sd.size() != 1) throw Error(str_cat(path_, ": corrupt shard: /transcripts is not 1-D"));
    transcript_count_ = static_cast<int64_t>(sd[0]);

    Id ftype(H5Dget_type(features_), H5Tclose);
    if (!ftype.ok() || H5Tget_class(ftype) != H5T_FLOAT)
      throw Error(str_cat(path_, ": corrupt shard: /features is not floating point"));
    half_ = is_ieee_half(ftype);
    feature_mem_type_ = half_ ? H5Tcopy(ftype) : H5Tcopy(H5T_NATIVE_FLOAT);
    Id ttype(H5Dget_type(tokens_), H5Tclose);
    if (!ttype.ok() || H5Tget_class(ttype) != H5T_INTEGER)
      throw Error(str_cat(path_, ": corrupt shard: /tokens is not integer"));
    Id stype(H5Dget_type(transcripts_), H5Tclose);
    if (!stype.ok() || H5Tget_class(stype) != H5T_STRING)
      throw Error(str_cat(path_, ": corrupt shard: /transcripts is not a string dataset"));
    transcript_mem_type_ = H5Tget_native_type(stype, H5T_DIR_DEFAULT);
    if (transcript_mem_type_ < 0) throw Error(str_cat(path_, ": corrupt shard: bad /transcripts type"));
    transcript_vlen_ = H5Tis_variable_str(transcript_mem_type_) > 0;
    if (!transcript_vlen_)
      ::asr::h5::check_fixed_string_size(transcript_mem_type_, path_, "corrupt shard: /transcripts");
  } catch (...) {
    // Destructor does not run for a throwing constructor.
    for (hid_t t : {feature_mem_type_, transcript_mem_type_})
      if (t >= 0) H5Tclose(t);
    for (hid_t ds : {features_, tokens_, transcripts_})
      if (ds >= 0) H5Dclose(ds);
    H5Fclose(file_);
    throw;
  }
}

ShardFile::~ShardFile() {
  Hdf5Lock lock;
  for (hid_t t : {feature_mem_type_, transcript_mem_type_})
    if (t >= 0) H5Tclose(t);
  for (hid_t ds : {features_, tokens_, transcripts_})
    if (ds >= 0) H5Dclose(ds);
  if (file_ >= 0) H5Fclose(file_);
}

ShardMeta ShardFile::read_meta(int64_t expected_n_mels, int64_t expected_utterances,
                               const std::string& preprocessor_fingerprint,
                               const std::string& tokenizer_fingerprint) {
  Hdf5Lock lock;
  ShardMeta m;
  m.path = path_;
  m.n_mels = n_mels_;
  m.feature_rows = feature_rows_;
  m.token_count = token_count_;
  if (has_attr(file_, shard_keys::kSchemaVersion)) {
    const int64_t v = int_attr(file_, shard_keys::kSchemaVersion, path_);
    if (v != kShardSchemaVersion)
      throw Error(str_cat(path_, ": shard schema_version ", v, ", this build reads ",
                          kShardSchemaVersion));
  }
  // A shard copied in from another directory must not slip past the index's fingerprints.
  for (const auto& [key, want] : {std::pair{shard_keys::kPreprocessorFingerprint, &preprocessor_fingerprint},
                                  std::pair{shard_keys::kTokenizerFingerprint, &tokenizer_fingerprint}}) {
    if (want->empty() || !has_attr(file_, key)) continue;
    const std::string have = string_attr(file_, key, path_);
    if (have != *want)
      throw Error(str_cat(path_, ": corrupt shard: ", key, " ", have, " differs from its index.json's ", *want));
  }
  if (expected_n_mels >= 0 && n_mels_ != expected_n_mels)
    throw Error(str_cat(path_, ": corrupt shard: /features has ", n_mels_,
                        " mel bins, its index.json says ", expected_n_mels));
  // The utterance count: the offsets array defines it; the attribute and index must agree.
  {
    Id ds(open_dataset(file_, shard_keys::kFeatureOffsets, path_), H5Dclose);
    const auto d = dims_of(ds);
    if (d.size() != 1) throw Error(str_cat(path_, ": corrupt shard: /feature_offsets is not 1-D"));
    if (d[0] > static_cast<hsize_t>(kMaxUtterances))
      throw Error(str_cat(path_, ": corrupt shard: /feature_offsets declares ", d[0], " utterances (at most ",
                          kMaxUtterances, " per shard)"));
    m.utterances = static_cast<int64_t>(d[0]);
  }
  if (has_attr(file_, shard_keys::kUtterances)) {
    const int64_t n = int_attr(file_, shard_keys::kUtterances, path_);
    if (n != m.utterances)
      throw Error(str_cat(path_, ": corrupt shard: 'utterances' attribute ", n, " but ",
                          m.utterances, " offsets stored"));
  }
  if (expected_utterances >= 0 && expected_utterances != m.utterances)
    throw Error(str_cat(path_, ": corrupt shard: holds ", m.utterances,
                        " utterances, its index.json says ", expected_utterances));
  const int64_t n = m.utterances;
  m.feature_offsets = read_array<int64_t>(file_, shard_keys::kFeatureOffsets, H5T_NATIVE_INT64, n, path_);
  m.feature_lengths = read_array<int64_t>(file_, shard_keys::kFeatureLengths, H5T_NATIVE_INT64, n, path_);
  m.token_offsets = read_array<int64_t>(file_, shard_keys::kTokenOffsets, H5T_NATIVE_INT64, n, path_);
  m.token_lengths = read_array<int64_t>(file_, shard_keys::kTokenLengths, H5T_NATIVE_INT64, n, path_);
  m.durations = read_array<double>(file_, shard_keys::kDurations, H5T_NATIVE_DOUBLE, n, path_);
  if (transcript_count_ != n)
    throw Error(str_cat(path_, ": corrupt shard: /transcripts holds ", transcript_count_,
                        " strings for ", n, " utterances"));
  check_range(m.feature_offsets, m.feature_lengths, feature_rows_, "feature", path_);
  check_range(m.token_offsets, m.token_lengths, token_count_, "token", path_);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t frames = m.feature_lengths[static_cast<size_t>(i)];
    const int64_t tokens = m.token_lengths[static_cast<size_t>(i)];
    if (frames > kMaxUtteranceValues / n_mels_ || tokens > kMaxUtteranceTokens)
      throw Error(str_cat(path_, ": corrupt shard: utterance ", i, " declares ", frames, " frames and ",
                          tokens, " tokens (at most ", kMaxUtteranceValues / n_mels_, " and ",
                          kMaxUtteranceTokens, ")"));
  }
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(m.durations[static_cast<size_t>(i)]) || m.durations[static_cast<size_t>(i)] < 0)
      throw Error(str_cat(path_, ": corrupt shard: utterance ", i, " has duration ",
                          m.durations[static_cast<size_t>(i)]));
  return m;
}

void ShardFile::check_shapes(const ShardMeta& meta) const {
  if (meta.n_mels != n_mels_ || meta.feature_rows != feature_rows_ ||
      meta.token_count != token_count_ || meta.utterances != transcript_count_)
    throw Error(str_cat(path_, ": shard changed on disk since the loader read its metadata"));
}

void ShardFile::read_features(int64_t offset, int64_t length, float* dst, int64_t dst_stride) {
  Hdf5Lock lock;
  const size_t n = static_cast<size_t>(length * n_mels_);
  if (half_) {
    half_buf_.resize(n);
    read_rows(features_, feature_mem_type_, offset, length, n_mels_, half_buf_.data(), path_,
              shard_keys::kFeatures);
    transpose(half_buf_.data(), length, n_mels_, dst, dst_stride,
              [](uint16_t h) { return half_table()[h]; });
  } else {
    float_buf_.resize(n);
    read_rows(features_, feature_mem_type_, offset, length, n_mels_, float_buf_.data(), path_,
              shard_keys::kFeatures);
    transpose(float_buf_.data(), length, n_mels_, dst, dst_stride, [](float f) { return f; });
  }
}

void ShardFile::read_tokens(int64_t offset, int64_t length, int64_t* dst) {
  Hdf5Lock lock;
  read_rows(tokens_, H5T_NATIVE_INT64, offset, length, 1, dst, path_, shard_keys::kTokens);
}

std::string ShardFile::read_transcript(int64_t index) {
  Hdf5Lock lock;
  if (index < 0 || index >= transcript_count_)
    throw Error(str_cat(path_, ": transcript ", index, " out of range"));
  const hid_t mtype = transcript_mem_type_;
  if (transcript_vlen_) {
    char* s = nullptr;
    read_rows(transcripts_, mtype, index, 1, 1, &s, path_, shard_keys::kTranscripts);
    std::string out = s ? std::string(s) : std::string();
    hsize_t one = 1;
    Id mspace(H5Screate_simple(1, &one, nullptr), H5Sclose);
    H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, &s);
    return out;
  }
  std::vector<char> buf(H5Tget_size(mtype) + 1, '\0');
  read_rows(transcripts_, mtype, index, 1, 1, buf.data(), path_, shard_keys::kTranscripts);
  return std::string(buf.data(), strnlen(buf.data(), buf.size() - 1));
}

}  // namespace asr::data::detail
