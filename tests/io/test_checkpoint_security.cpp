// A torch checkpoint from someone else must never run code or make the reader allocate what the
// file does not hold: the unpickler knows only what a state dict needs, and every size in the
// pickle or the zip is checked against the bytes actually present before anything is allocated.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "asr/io/torch_checkpoint.h"
#include "asr/io/unpickler.h"
#include "io_test_util.h"
#include "support/test_util.h"

using namespace asr;
using namespace asr::io;
using asr::iotest::expect_error;

#if defined(__SANITIZE_ADDRESS__)
#define ASR_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASR_TEST_UNDER_ASAN 1
#endif
#endif
#ifndef ASR_TEST_UNDER_ASAN
#define ASR_TEST_UNDER_ASAN 0
#endif

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s.push_back(static_cast<char>(c));
  return s;
}
std::string le(uint64_t v, int n) {
  std::string s;
  for (int k = 0; k < n; ++k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  return s;
}
std::string unicode(const std::string& s) { return "X" + le(s.size(), 4) + s; }  // BINUNICODE
std::string long1(int64_t v) { return bytes({0x8a, 8}) + le(static_cast<uint64_t>(v), 8); }  // LONG1

// {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), offset, size, stride, False, ())}
std::string tensor_pickle(int64_t numel, int64_t offset, std::vector<int64_t> size, std::vector<int64_t> stride) {
  std::string p = bytes({0x80, 2}) + "}" + unicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(" + unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + long1(numel) + "tQ";
  p += long1(offset) + "(";
  for (int64_t s : size) p += long1(s);
  p += "t(";
  for (int64_t s : stride) p += long1(s);
  p += "t" + bytes({0x89}) + ")tRs.";
  return p;
}

// A zip of archive/data.pkl and archive/data/0, stored (as torch writes) or deflated.
std::string torch_zip(const std::string& pickle, const std::string& storage, zip_int32_t method = ZIP_CM_STORE) {
  const std::string path = asr::test::temp_path("security.zip");
  std::filesystem::remove(path);
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  for (const auto& [name, data] : {std::pair{"archive/data.pkl", &pickle}, std::pair{"archive/data/0", &storage}}) {
    zip_int64_t idx = zip_file_add(z, name, zip_source_buffer(z, data->data(), data->size(), 0), 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), method, 0);
  }
  zip_close(z);
  std::string out = iotest::read_file(path);
  std::filesystem::remove(path);
  return out;
}

// Rewrites the uncompressed size of every zip member in the central directory to `size`.
std::string with_declared_size(std::string zip, uint32_t size) {
  for (size_t at = 0; at + 30 <= zip.size(); ++at) {
    if (zip.compare(at, 4, "PK\x01\x02") == 0) std::memcpy(&zip[at + 24], le(size, 4).data(), 4);
  }
  return zip;
}

// Runs `parse` in a forked child whose address space is capped at ~1 GiB above what it uses now
// (not under AddressSanitizer, which reserves terabytes of address space), and expects it to end
// in an asr::Error within a second: an attempt to allocate gigabytes would die of bad_alloc.
template <typename Fn>
void expect_refused_small_and_fast(Fn&& parse) {
  EXPECT_EXIT(
      {
#if !ASR_TEST_UNDER_ASAN
        rlimit limit{};
        getrlimit(RLIMIT_AS, &limit);
        FILE* status = std::fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (status && std::fscanf(status, "%lu", &pages) == 1) {
          limit.rlim_cur = pages * 4096ul + (1ul << 30);
          setrlimit(RLIMIT_AS, &limit);
        }
        if (status) std::fclose(status);
#endif
        const auto start = std::chrono::steady_clock::now();
        try {
          parse();
        } catch (const Error&) {
          std::_Exit(std::chrono::steady_clock::now() - start < std::chrono::seconds(1) ? 0 : 3);
        } catch (...) {
          std::_Exit(4);
        }
        std::_Exit(5);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace

TEST(CheckpointSecurity, GlobalsOutsideTheAllowListAreRefusedByName) {
  for (const std::string global : {"os\nsystem", "posix\nsystem", "nt\nsystem", "builtins\nexec", "builtins\neval",
                                   "subprocess\nPopen", "torch\nload", "collections\ndefaultdict"}) {
    std::string dotted = global;
    dotted[dotted.find('\n')] = '.';
    const std::string p = bytes({0x80, 2}) + "c" + global + "\n" + unicode("id") + bytes({0x85}) + "R.";
    expect_error([&] { unpickle(p, "evil.pkl"); }, {"evil.pkl", "'" + dotted + "'", "refused"});
  }
  // The same through protocol 4's STACK_GLOBAL.
  const std::string sg = bytes({0x80, 4, 0x8c, 5}) + "posix" + bytes({0x8c, 6}) + "system" + bytes({0x93}) + ".";
  expect_error([&] { unpickle(sg, "sg.pkl"); }, {"sg.pkl", "'posix.system'", "refused"});
}

TEST(CheckpointSecurity, ReduceOnAnythingButAnAllowedGlobalIsRefused) {
  // REDUCE with a string, a dict and a tuple in the callable's place.
  for (const std::string callable : {unicode("os.system"), std::string("}"), std::string(")")}) {
    const std::string p = bytes({0x80, 2}) + callable + ")R.";
    expect_error([&] { unpickle(p, "reduce.pkl"); }, {"reduce.pkl", "REDUCE on a", "only allowed globals"});
  }
  // NEWOBJ goes through the same gate; an allowed storage type is data, never called.
  expect_error([] { unpickle(bytes({0x80, 2}) + "ctorch\nFloatStorage\n)" + bytes({0x81}) + ".", "newobj.pkl"); },
               {"newobj.pkl", "torch.FloatStorage", "cannot be called"});
}

TEST(CheckpointSecurity, OpcodesAStateDictNeverUsesAreRefused) {
  // INST and OBJ (call a class), EXT1/2/4 (the extension registry), PERSID (text persistent id),
  // NEWOBJ_EX, BYTEARRAY8, NEXT_BUFFER, READONLY_BUFFER, INT/LONG/FLOAT/STRING text forms, and a
  // byte that is no opcode at all.
  const std::pair<int, const char*> refused[] = {
      {'i', "69"}, {'o', "6f"}, {0x82, "82"}, {0x83, "83"}, {0x84, "84"}, {'P', "50"}, {0x92, "92"},
      {0x96, "96"}, {0x97, "97"}, {0x98, "98"}, {'I', "49"}, {'L', "4c"}, {'F', "46"}, {'S', "53"},
      {0xff, "ff"}};
  for (const auto& [op, hex] : refused)
    expect_error([op = op] { unpickle(bytes({0x80, 2, op}) + "os\nsystem\n.", "op.pkl"); },
                 {"op.pkl", std::string("unsupported pickle opcode 0x") + hex, "at byte 2"});
}

TEST(CheckpointSecurity, TensorViewLargerThanItsStorageIsRefusedBeforeAllocating) {
  // One stored float viewed as 2^40 elements through a zero stride.
  const std::string ckpt = torch_zip(tensor_pickle(1, 0, {int64_t{1} << 40}, {0}), std::string(4, '\0'));
  expect_error([&] { read_torch_state_dict(ckpt, "stride0.ckpt"); },
               {"stride0.ckpt", "tensor 'w'", "outside its storage of 1 elements"});
  expect_refused_small_and_fast([&] { read_torch_state_dict(ckpt, "stride0.ckpt"); });
  // Overflowing products and negative sizes, strides or offsets.
  struct View {
    std::vector<int64_t> size, stride;
    int64_t offset;
  };
  const View bad_views[] = {{{int64_t{1} << 32, int64_t{1} << 32}, {0, 0}, 0},
                            {{-1}, {1}, 0},
                            {{1}, {-1}, 0},
                            {{1}, {1}, -1},
                            {{2}, {INT64_MAX}, 0}};
  for (const View& v : bad_views)
    expect_error([&] { read_torch_state_dict(torch_zip(tensor_pickle(1, v.offset, v.size, v.stride), std::string(4, '\0')), "bad.ckpt"); },
                 {"bad.ckpt", "tensor 'w'", "outside its storage"});
}

TEST(CheckpointSecurity, StorageNumelBeyondItsBytesIsRefusedBeforeReading) {
  const std::string ckpt = torch_zip(tensor_pickle(int64_t{1} << 40, 0, {4}, {1}), std::string(16, '\0'));
  expect_error([&] { read_torch_state_dict(ckpt, "numel.ckpt"); },
               {"numel.ckpt", "storage 0", "holds 16 bytes", "fewer than its 1099511627776"});
  expect_refused_small_and_fast([&] { read_torch_state_dict(ckpt, "numel.ckpt"); });
}

TEST(CheckpointSecurity, ZipMemberDeclaringMoreThanTheArchiveHoldsIsRefused) {
  // Every member of a ~400-byte zip claims 4 GiB - 16 uncompressed (0xffffffff would mean "see the zip64 record"). Deflated, that is more than
  // deflate can expand to (~1032x); stored, more than the archive (libzip may refuse it first).
  for (zip_int32_t method : {ZIP_CM_DEFLATE, ZIP_CM_STORE}) {
    const std::string ckpt =
        with_declared_size(torch_zip(tensor_pickle(1, 0, {1}, {1}), std::string(4, '\0'), method), 0xfffffff0u);
    ASSERT_LT(ckpt.size(), 600u);
    if (method == ZIP_CM_DEFLATE)
      expect_error([&] { read_torch_state_dict(ckpt, "huge.ckpt"); },
                   {"huge.ckpt", "declares 4294967280 bytes from", "more than deflate can expand"});
    expect_refused_small_and_fast([&] { read_torch_state_dict(ckpt, "huge.ckpt"); });
  }
}

TEST(CheckpointSecurity, AFortyBytePickleCannotAskForGigabytes) {
  // A 40-byte pickle (BINUNICODE8 / BINBYTES8 lengths of 2^62, a memo index of 2^32 - 1): each
  // length is checked against the bytes that follow, nothing is reserved for it.
  const std::string lies[] = {
      bytes({0x80, 4, 0x8d}) + le(uint64_t{1} << 62, 8) + std::string(29, 'a'),
      bytes({0x80, 4, 0x8e}) + le(uint64_t{1} << 62, 8) + std::string(29, 'a'),
      bytes({0x80, 2, 'N', 'r'}) + le(0xffffffffu, 4) + bytes({'j'}) + le(0xfffffffeu, 4) + std::string(27, '.')};
  for (const std::string& p : lies) {
    ASSERT_EQ(p.size(), 40u);
    expect_refused_small_and_fast([&] { unpickle(p, "forty.pkl"); });
    // And inside a whole checkpoint.
    expect_refused_small_and_fast([&] { read_torch_state_dict(torch_zip(p, ""), "forty.ckpt"); });
  }
}

TEST(CheckpointSecurity, ManyDictKeysUnpickleInLinearTime) {
  // n distinct keys in one SETITEMS: a per-insert scan for duplicates made this quadratic (minutes
  // for 200,000 keys). Judged by how the time scales from n to 8n (linear: ~8x, quadratic: ~64x),
  // best of three each, so a slow or loaded machine (or a sanitizer build) cannot fail it.
  auto pickle_with_keys = [](int n) {
    std::string p = bytes({0x80, 2}) + "}(";
    for (int i = 0; i < n; ++i) p += unicode("k" + std::to_string(i)) + "N";
    return p + unicode("k7") + "K" + bytes({1}) + "u.";  // a repeated key replaces, as a dict does
  };
  auto best_seconds = [](const std::string& p, size_t keys) {
    double best = 1e30;
    for (int run = 0; run < 3; ++run) {
      const auto start = std::chrono::steady_clock::now();
      PickleValuePtr v = unpickle(p, "keys.pkl");
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      EXPECT_EQ(v->dict.size(), keys);
      EXPECT_EQ(v->dict[7].second->kind, PickleValue::Kind::Int);
    }
    return best;
  };
  const double small = best_seconds(pickle_with_keys(25000), 25000u);
  const double large = best_seconds(pickle_with_keys(200000), 200000u);
  EXPECT_LT(large, 24 * std::max(small, 1e-3)) << "25k keys: " << small << " s, 200k keys: " << large << " s";
}
