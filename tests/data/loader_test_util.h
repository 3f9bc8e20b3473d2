#pragma once
// A small, test-only shard writer that follows shard_format.h's layout exactly, with feature and
// token values that are a known function of the utterance's global id, so a test can check every
// value a batch holds. Also helpers to damage shards (truncate, bad offsets, corrupt chunks).
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "asr/core/dtype.h"
#include "asr/core/error.h"
#include "asr/data/shard_format.h"

namespace asr::data::test {

struct TestUtt {
  int64_t id = 0;  // global id (shard order)
  int64_t frames = 0, tokens = 0;
  double duration = 0.0;
  std::string transcript;
};

// Exactly representable in f16 (quarter steps below 17) and never 0, so padding is recognisable.
inline float feature_value(int64_t id, int64_t t, int64_t m) {
  return 1.0f + static_cast<float>((id * 7 + t * 3 + m) % 64) / 4.0f;
}
inline int64_t token_value(int64_t id, int64_t u) { return 1 + (id * 5 + u) % 97; }

struct ShardSpec {
  std::string fingerprint_pre = "pre-fp", fingerprint_tok = "tok-fp";
  int64_t n_mels = 8;
  bool f16 = false;
  bool compress = false;  // deflate-compressed feature chunks (to corrupt them in tests)
};

// Random lengths: frames in [min_frames, max_frames], 0..8 tokens, duration = frames * 10 ms.
inline std::vector<TestUtt> make_utts(int64_t count, int64_t first_id, uint32_t seed,
                                      int64_t min_frames = 3, int64_t max_frames = 40) {
  std::mt19937 rng(seed);
  std::vector<TestUtt> v;
  for (int64_t i = 0; i < count; ++i) {
    TestUtt u;
    u.id = first_id + i;
    u.frames = min_frames + static_cast<int64_t>(rng() % static_cast<uint32_t>(max_frames - min_frames + 1));
    u.tokens = static_cast<int64_t>(rng() % 9);
    u.duration = static_cast<double>(u.frames) * 0.01;
    u.transcript = "utterance " + std::to_string(u.id);
    v.push_back(u);
  }
  return v;
}

namespace detail {

inline void h5check(herr_t rc, const std::string& what) {
  if (rc < 0) throw Error("test shard writer: " + what);
}

inline hid_t half_type() {  // IEEE binary16, as h5py stores numpy float16
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return t;
}

inline void write_1d(hid_t file, const char* name, hid_t file_type, hid_t mem_type, size_t n,
                     const void* data) {
  hsize_t dims = n;
  hid_t space = H5Screate_simple(1, &dims, nullptr);
  hid_t ds = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (n > 0) h5check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name);
  H5Dclose(ds);
  H5Sclose(space);
}

inline void write_strings(hid_t file, const char* name, const std::vector<std::string>& values) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  write_1d(file, name, type, type, values.size(), ptrs.data());
  H5Tclose(type);
}

inline void string_attr(hid_t obj, const char* name, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* p = value.c_str();
  h5check(H5Awrite(a, type, &p), name);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

inline void int_attr(hid_t obj, const char* name, int64_t value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  h5check(H5Awrite(a, H5T_NATIVE_INT64, &value), name);
  H5Aclose(a);
  H5Sclose(space);
}

}  // namespace detail

inline void write_shard_file(const std::string& path, const std::vector<TestUtt>& utts,
                             const ShardSpec& spec) {
  namespace k = shard_keys;
  const int64_t nm = spec.n_mels;
  std::vector<int64_t> f_off, f_len, t_off, t_len;
  std::vector<float> feats;
  std::vector<int32_t> toks;
  std::vector<double> durs;
  std::vector<std::string> texts, paths;
  for (const TestUtt& u : utts) {
    f_off.push_back(static_cast<int64_t>(feats.size()) / nm);
    f_len.push_back(u.frames);
    for (int64_t t = 0; t < u.frames; ++t)
      for (int64_t m = 0; m < nm; ++m) feats.push_back(feature_value(u.id, t, m));
    t_off.push_back(static_cast<int64_t>(toks.size()));
    t_len.push_back(u.tokens);
    for (int64_t i = 0; i < u.tokens; ++i) toks.push_back(static_cast<int32_t>(token_value(u.id, i)));
    durs.push_back(u.duration);
    texts.push_back(u.transcript);
    paths.push_back("/audio/" + std::to_string(u.id) + ".wav");
  }
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  detail::h5check(file, "create " + path);
  {  // /features, chunked by rows
    const hsize_t rows = feats.size() / static_cast<size_t>(nm);
    hsize_t dims[2] = {rows, static_cast<hsize_t>(nm)};
    hsize_t chunk[2] = {std::max<hsize_t>(1, std::min<hsize_t>(rows, 64)), static_cast<hsize_t>(nm)};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    if (spec.compress) H5Pset_deflate(dcpl, 1);
    hid_t ftype = spec.f16 ? detail::half_type() : H5Tcopy(H5T_IEEE_F32LE);
    hid_t ds = H5Dcreate2(file, k::kFeatures, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (spec.f16) {
      std::vector<uint16_t> half;
      for (float v : feats) half.push_back(float_to_f16(v));
      detail::h5check(H5Dwrite(ds, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, half.data()), "features");
    } else {
      detail::h5check(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, feats.data()), "features");
    }
    H5Dclose(ds);
    H5Tclose(ftype);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  detail::write_1d(file, k::kFeatureOffsets, H5T_STD_I64LE, H5T_NATIVE_INT64, f_off.size(), f_off.data());
  detail::write_1d(file, k::kFeatureLengths, H5T_STD_I64LE, H5T_NATIVE_INT64, f_len.size(), f_len.data());
  detail::write_1d(file, k::kTokens, H5T_STD_I32LE, H5T_NATIVE_INT32, toks.size(), toks.data());
  detail::write_1d(file, k::kTokenOffsets, H5T_STD_I64LE, H5T_NATIVE_INT64, t_off.size(), t_off.data());
  detail::write_1d(file, k::kTokenLengths, H5T_STD_I64LE, H5T_NATIVE_INT64, t_len.size(), t_len.data());
  detail::write_1d(file, k::kDurations, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, durs.size(), durs.data());
  detail::write_strings(file, k::kTranscripts, texts);
  detail::write_strings(file, k::kAudioPaths, paths);
  detail::int_attr(file, k::kSchemaVersion, kShardSchemaVersion);
  detail::string_attr(file, k::kPreprocessorFingerprint, spec.fingerprint_pre);
  detail::string_attr(file, k::kTokenizerFingerprint, spec.fingerprint_tok);
  detail::int_attr(file, k::kNumMels, nm);
  detail::string_attr(file, k::kFeatureDtype, spec.f16 ? "f16" : "f32");
  detail::int_attr(file, k::kUtterances, static_cast<int64_t>(utts.size()));
  H5Fclose(file);
}

// A shard directory: one shard file per entry of `shards` (utterances in global-id order), plus
// index.json. Returns all utterances in global-id order.
inline std::vector<TestUtt> write_shard_dir(const std::string& dir,
                                            const std::vector<std::vector<TestUtt>>& shards,
                                            const ShardSpec& spec) {
  std::filesystem::create_directories(dir);
  ShardIndex index;
  index.preprocessor_fingerprint = spec.fingerprint_pre;
  index.tokenizer_fingerprint = spec.fingerprint_tok;
  index.n_mels = spec.n_mels;
  index.feature_dtype = spec.f16 ? "f16" : "f32";
  std::vector<TestUtt> all;
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05zu.h5", s);
    const std::string path = dir + "/" + name;
    write_shard_file(path, shards[s], spec);
    ShardInfo info;
    info.file = name;
    info.utterances = static_cast<int64_t>(shards[s].size());
    for (const TestUtt& u : shards[s]) {
      info.frames += u.frames;
      info.duration += u.duration;
      all.push_back(u);
    }
    info.checksum = file_checksum(path);
    index.shards.push_back(info);
  }
  write_shard_index(dir, index);
  return all;
}

// Splits `count` utterances (ids from first_id) into shards of the given sizes.
inline std::vector<std::vector<TestUtt>> split_utts(const std::vector<int64_t>& sizes, int64_t first_id,
                                                    uint32_t seed, int64_t min_frames = 3,
                                                    int64_t max_frames = 40) {
  std::vector<std::vector<TestUtt>> out;
  int64_t id = first_id;
  for (size_t s = 0; s < sizes.size(); ++s) {
    out.push_back(make_utts(sizes[s], id, seed + static_cast<uint32_t>(s), min_frames, max_frames));
    id += sizes[s];
  }
  return out;
}

inline void truncate_to_half(const std::string& path) {
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
}

// Overwrites one value of an i64 dataset in place.
inline void poke_i64(const std::string& path, const char* dataset, int64_t index, int64_t value) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  detail::h5check(file, "open " + path);
  hid_t ds = H5Dopen2(file, dataset, H5P_DEFAULT);
  hid_t fspace = H5Dget_space(ds);
  hsize_t off = static_cast<hsize_t>(index), one = 1;
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &off, nullptr, &one, nullptr);
  hid_t mspace = H5Screate_simple(1, &one, nullptr);
  detail::h5check(H5Dwrite(ds, H5T_NATIVE_INT64, mspace, fspace, H5P_DEFAULT, &value), dataset);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(ds);
  H5Fclose(file);
}

// Overwrites the stored bytes of every /features chunk with garbage (the metadata stays intact,
// so only reading a batch fails). Needs a shard written with spec.compress.
inline void corrupt_feature_chunks(const std::string& path) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  detail::h5check(file, "open " + path);
  hid_t ds = H5Dopen2(file, shard_keys::kFeatures, H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  hsize_t nchunks = 0;
  H5Dget_num_chunks(ds, space, &nchunks);
  std::vector<std::pair<haddr_t, hsize_t>> where;
  for (hsize_t i = 0; i < nchunks; ++i) {
    hsize_t offset[2];
    unsigned mask = 0;
    haddr_t addr = 0;
    hsize_t size = 0;
    H5Dget_chunk_info(ds, space, i, offset, &mask, &addr, &size);
    where.emplace_back(addr, size);
  }
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  for (const auto& [addr, size] : where) {
    f.seekp(static_cast<std::streamoff>(addr));
    const std::string junk(static_cast<size_t>(size), '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
}

}  // namespace asr::data::test

#include "asr/data/loader.h"
#include "support/test_util.h"

namespace asr::data::test {

// A per-process temp directory, removed at the end of the test.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) : path(asr::test::temp_path(name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string sub(const std::string& name) const { return path + "/" + name; }
};

// Every batch of the loader's current epoch (next() until it returns false).
inline std::vector<Batch> drain_epoch(Loader& loader) {
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

inline std::vector<std::vector<int64_t>> ids_of(const std::vector<Batch>& batches) {
  std::vector<std::vector<int64_t>> out;
  for (const Batch& b : batches) out.push_back(b.utterance_ids);
  return out;
}

}  // namespace asr::data::test

#include "asr/data/shard_writer.h"

namespace asr::data::test {

// The same data as write_shard_dir, written by the production ShardWriter (asr-adapt shard's).
inline std::vector<TestUtt> write_shard_dir_with_writer(const std::string& dir,
                                                        const std::vector<std::vector<TestUtt>>& shards,
                                                        const ShardSpec& spec) {
  std::filesystem::create_directories(dir);
  ShardHeader header;
  header.preprocessor_fingerprint = spec.fingerprint_pre;
  header.tokenizer_fingerprint = spec.fingerprint_tok;
  header.n_mels = spec.n_mels;
  header.feature_dtype = spec.f16 ? "f16" : "f32";
  ShardIndex index;
  index.preprocessor_fingerprint = spec.fingerprint_pre;
  index.tokenizer_fingerprint = spec.fingerprint_tok;
  index.n_mels = spec.n_mels;
  index.feature_dtype = header.feature_dtype;
  std::vector<TestUtt> all;
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05zu.h5", s);
    ShardWriter writer(dir + "/" + name, header);
    for (const TestUtt& u : shards[s]) {
      std::vector<float> feats;
      for (int64_t t = 0; t < u.frames; ++t)
        for (int64_t m = 0; m < spec.n_mels; ++m) feats.push_back(feature_value(u.id, t, m));
      std::vector<int32_t> toks;
      for (int64_t i = 0; i < u.tokens; ++i) toks.push_back(static_cast<int32_t>(token_value(u.id, i)));
      writer.add(feats.data(), u.frames, toks, u.duration, u.transcript, "/audio/" + std::to_string(u.id) + ".wav");
      all.push_back(u);
    }
    index.shards.push_back(writer.finish());
  }
  write_shard_index(dir, index);
  return all;
}

}  // namespace asr::data::test
