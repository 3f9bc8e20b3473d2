// ShardWriter / inspect_shard: the documented layout read back with the plain HDF5 API, dtypes,
// atomic publication, byte-identical rewrites, and refusal of broken files.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "asr/core/dtype.h"
#include "asr/data/shard_writer.h"
#include "support/test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace asr;
using namespace asr::data;

std::string fresh_dir(const std::string& name) {
  const std::string d = test::temp_path(name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ShardHeader header(const std::string& dtype, int64_t n_mels = 3) {
  ShardHeader h;
  h.preprocessor_fingerprint = "xxh64:1111111111111111";
  h.tokenizer_fingerprint = "xxh64:2222222222222222";
  h.n_mels = n_mels;
  h.feature_dtype = dtype;
  h.source_fingerprint = "xxh64:3333333333333333";
  return h;
}

// Utterance u, frame t, mel m -> a value that identifies it.
float value(int u, int64_t t, int64_t m) { return static_cast<float>(u * 1000 + t) + 0.125f * static_cast<float>(m); }

std::vector<float> utterance(int u, int64_t frames, int64_t n_mels) {
  std::vector<float> f(static_cast<size_t>(frames * n_mels));
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t m = 0; m < n_mels; ++m) f[static_cast<size_t>(t * n_mels + m)] = value(u, t, m);
  return f;
}

// Writes three utterances of 5, 9 and 4 frames with a 4-frame chunk (so chunks straddle them).
ShardInfo write_three(const std::string& path, const std::string& dtype) {
  ShardWriter w(path, header(dtype), 4);
  const int64_t frames[3] = {5, 9, 4};
  for (int u = 0; u < 3; ++u) {
    auto f = utterance(u, frames[u], 3);
    std::vector<int32_t> tokens(static_cast<size_t>(u + 1), u + 10);
    w.add(f.data(), frames[u], tokens, 0.5 * (u + 1), "text " + std::to_string(u), "/audio/ü" + std::to_string(u) + ".wav");
  }
  EXPECT_FALSE(fs::exists(path)) << "the final name must appear only when the shard is complete";
  return w.finish(R"([{"where":"m.json:4","reason":"audio_missing","detail":"no such file"}])");
}

struct H5File {
  hid_t id;
  explicit H5File(const std::string& p) : id(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~H5File() {
    if (id >= 0) H5Fclose(id);
  }
};

template <typename T>
std::vector<T> read_all(hid_t file, const char* name, hid_t mem_type, std::vector<hsize_t>* dims_out = nullptr) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(ds, 0) << name;
  hid_t space = H5Dget_space(ds);
  std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  size_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<T> out(n);
  if (n) EXPECT_GE(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0);
  H5Sclose(space);
  H5Dclose(ds);
  if (dims_out) *dims_out = dims;
  return out;
}

std::vector<std::string> read_strings(hid_t file, const char* name) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);  // HDF5 will not convert UTF-8 strings to ASCII ones
  auto ptrs = read_all<char*>(file, name, type);
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  H5Tclose(type);
  return out;
}

int64_t int_attr(hid_t file, const char* name) {
  int64_t v = -1;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a);
  return v;
}

std::string string_attr(hid_t file, const char* name) {
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);  // HDF5 will not convert UTF-8 strings to ASCII ones
  char* s = nullptr;
  H5Aread(a, type, &s);
  std::string out = s ? s : "";
  H5free_memory(s);
  H5Tclose(type);
  H5Aclose(a);
  return out;
}

TEST(ShardWriter, WritesTheDocumentedLayout) {
  const std::string dir = fresh_dir("writer_layout");
  const ShardInfo info = write_three(dir + "/shard-00000.h5", "f32");
  EXPECT_EQ(info.file, "shard-00000.h5");
  EXPECT_EQ(info.utterances, 3);
  EXPECT_EQ(info.frames, 18);
  EXPECT_DOUBLE_EQ(info.duration, 3.0);
  EXPECT_EQ(info.checksum, file_checksum(dir + "/shard-00000.h5"));
  EXPECT_FALSE(fs::exists(dir + "/.shard-00000.h5.tmp"));

  H5File f(dir + "/shard-00000.h5");
  ASSERT_GE(f.id, 0);
  std::vector<hsize_t> dims;
  auto feats = read_all<float>(f.id, shard_keys::kFeatures, H5T_NATIVE_FLOAT, &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{18, 3}));
  auto offsets = read_all<int64_t>(f.id, shard_keys::kFeatureOffsets, H5T_NATIVE_INT64);
  auto lengths = read_all<int64_t>(f.id, shard_keys::kFeatureLengths, H5T_NATIVE_INT64);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 5, 14}));
  EXPECT_EQ(lengths, (std::vector<int64_t>{5, 9, 4}));
  for (int u = 0; u < 3; ++u)
    for (int64_t t = 0; t < lengths[u]; ++t)
      for (int64_t m = 0; m < 3; ++m)
        ASSERT_EQ(feats[static_cast<size_t>((offsets[u] + t) * 3 + m)], value(u, t, m)) << u << " " << t << " " << m;
  EXPECT_EQ(read_all<int32_t>(f.id, shard_keys::kTokens, H5T_NATIVE_INT32), (std::vector<int32_t>{10, 11, 11, 12, 12, 12}));
  EXPECT_EQ(read_all<int64_t>(f.id, shard_keys::kTokenOffsets, H5T_NATIVE_INT64), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(read_all<int64_t>(f.id, shard_keys::kTokenLengths, H5T_NATIVE_INT64), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(read_all<double>(f.id, shard_keys::kDurations, H5T_NATIVE_DOUBLE), (std::vector<double>{0.5, 1.0, 1.5}));
  EXPECT_EQ(read_strings(f.id, shard_keys::kTranscripts), (std::vector<std::string>{"text 0", "text 1", "text 2"}));
  EXPECT_EQ(read_strings(f.id, shard_keys::kAudioPaths)[2], "/audio/ü2.wav");

  EXPECT_EQ(int_attr(f.id, shard_keys::kSchemaVersion), kShardSchemaVersion);
  EXPECT_EQ(int_attr(f.id, shard_keys::kNumMels), 3);
  EXPECT_EQ(int_attr(f.id, shard_keys::kUtterances), 3);
  EXPECT_EQ(string_attr(f.id, shard_keys::kFeatureDtype), "f32");
  EXPECT_EQ(string_attr(f.id, shard_keys::kPreprocessorFingerprint), "xxh64:1111111111111111");
  EXPECT_EQ(string_attr(f.id, shard_keys::kTokenizerFingerprint), "xxh64:2222222222222222");

  // Features are chunked along frames, whole mel rows per chunk.
  hid_t ds = H5Dopen2(f.id, shard_keys::kFeatures, H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(ds);
  hsize_t chunk[2] = {0, 0};
  ASSERT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
  H5Pget_chunk(dcpl, 2, chunk);
  EXPECT_EQ(chunk[0], 4u);
  EXPECT_EQ(chunk[1], 3u);
  H5Pclose(dcpl);
  H5Dclose(ds);
}

TEST(ShardWriter, HalfPrecisionIsIeeeBinary16) {
  const std::string dir = fresh_dir("writer_f16");
  write_three(dir + "/shard-00000.h5", "f16");
  H5File f(dir + "/shard-00000.h5");
  hid_t ds = H5Dopen2(f.id, shard_keys::kFeatures, H5P_DEFAULT);
  hid_t type = H5Dget_type(ds);
  EXPECT_EQ(H5Tget_class(type), H5T_FLOAT);
  EXPECT_EQ(H5Tget_size(type), 2u);
  size_t spos, epos, esize, mpos, msize;
  H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize);
  EXPECT_EQ(spos, 15u);
  EXPECT_EQ(esize, 5u);
  EXPECT_EQ(msize, 10u);
  EXPECT_EQ(H5Tget_ebias(type), 15u);
  H5Tclose(type);
  H5Dclose(ds);
  // HDF5 converts it to f32 on read: values within half precision of the originals.
  auto feats = read_all<float>(f.id, shard_keys::kFeatures, H5T_NATIVE_FLOAT);
  const float v = value(1, 3, 2);  // utterance 1 starts at row 5
  EXPECT_EQ(feats[(5 + 3) * 3 + 2], f16_to_float(float_to_f16(v)));
  EXPECT_EQ(inspect_shard(dir + "/shard-00000.h5").header.feature_dtype, "f16");
}

TEST(ShardWriter, IdenticalInputsGiveIdenticalBytes) {
  const std::string a = fresh_dir("writer_same_a"), b = fresh_dir("writer_same_b");
  EXPECT_EQ(write_three(a + "/shard-00000.h5", "f32").checksum, write_three(b + "/shard-00000.h5", "f32").checksum);
}

TEST(ShardWriter, AnAbandonedShardLeavesNoFile) {
  const std::string dir = fresh_dir("writer_abandon");
  {
    ShardWriter w(dir + "/shard-00000.h5", header("f32"), 4);
    auto f = utterance(0, 6, 3);
    w.add(f.data(), 6, {1}, 0.1, "x", "x.wav");
    EXPECT_TRUE(fs::exists(dir + "/.shard-00000.h5.tmp"));
  }
  EXPECT_FALSE(fs::exists(dir + "/.shard-00000.h5.tmp"));
  EXPECT_FALSE(fs::exists(dir + "/shard-00000.h5"));
}

TEST(ShardWriter, AnEmptyShardIsValid) {
  const std::string dir = fresh_dir("writer_empty");
  ShardWriter w(dir + "/shard-00000.h5", header("f32"));
  const ShardInfo info = w.finish();
  EXPECT_EQ(info.utterances, 0);
  const ShardSummary s = inspect_shard(dir + "/shard-00000.h5");
  EXPECT_EQ(s.utterances, 0);
  EXPECT_EQ(s.frames, 0);
  EXPECT_EQ(s.skipped_json, "[]");
}

TEST(ShardWriter, InspectReportsWhatTheShardHolds) {
  const std::string dir = fresh_dir("writer_inspect");
  write_three(dir + "/shard-00000.h5", "f32");
  const ShardSummary s = inspect_shard(dir + "/shard-00000.h5");
  EXPECT_EQ(s.schema_version, kShardSchemaVersion);
  EXPECT_EQ(s.utterances, 3);
  EXPECT_EQ(s.frames, 18);
  EXPECT_EQ(s.tokens, 6);
  EXPECT_DOUBLE_EQ(s.duration, 3.0);
  EXPECT_EQ(s.header.source_fingerprint, "xxh64:3333333333333333");
  EXPECT_NE(s.skipped_json.find("audio_missing"), std::string::npos);
}

TEST(ShardWriter, InspectRefusesTruncatedAndInconsistentFiles) {
  const std::string dir = fresh_dir("writer_broken");
  const std::string path = dir + "/shard-00000.h5";
  write_three(path, "f32");
  const auto size = fs::file_size(path);

  fs::copy_file(path, dir + "/cut.h5");
  fs::resize_file(dir + "/cut.h5", size / 2);
  EXPECT_ASR_ERROR(inspect_shard(dir + "/cut.h5"), dir + "/cut.h5");
  EXPECT_ASR_ERROR(inspect_shard(dir + "/none.h5"), "none.h5: not an HDF5 file");

  // An utterance count that disagrees with the datasets.
  fs::copy_file(path, dir + "/count.h5");
  {
    hid_t f = H5Fopen((dir + "/count.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, shard_keys::kUtterances, H5P_DEFAULT);
    const int64_t four = 4;
    H5Awrite(a, H5T_NATIVE_INT64, &four);
    H5Aclose(a);
    H5Fclose(f);
  }
  EXPECT_ASR_ERROR(inspect_shard(dir + "/count.h5"), "should be 1-D with 4 elements");

  // A missing attribute.
  fs::copy_file(path, dir + "/attr.h5");
  {
    hid_t f = H5Fopen((dir + "/attr.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, shard_keys::kTokenizerFingerprint);
    H5Fclose(f);
  }
  EXPECT_ASR_ERROR(inspect_shard(dir + "/attr.h5"), "attribute 'tokenizer_fingerprint' is missing");
}

TEST(ShardWriter, RejectsBadArguments) {
  const std::string dir = fresh_dir("writer_args");
  EXPECT_ASR_ERROR(ShardWriter(dir + "/s.h5", header("bf16")), "feature dtype must be f16 or f32");
  EXPECT_ASR_ERROR(ShardWriter("/no/such/dir/s.h5", header("f32")), "/no/such/dir/.s.h5.tmp: cannot create");
  ShardWriter w(dir + "/s.h5", header("f32"));
  EXPECT_ASR_ERROR(w.add(nullptr, 0, {}, 0.0, "", "a.wav"), "at least one feature frame");
}

}  // namespace
