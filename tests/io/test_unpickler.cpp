// The restricted unpickler and the torch zip reader: hand-made pickles, torch.save-made
// checkpoints (tools/make_io_fixtures.py), refusals, and damaged input that must fail cleanly.
#include <gtest/gtest.h>

#include "support/test_util.h"
#include <zip.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "asr/io/torch_checkpoint.h"
#include "asr/io/unpickler.h"
#include "io_test_util.h"

using namespace asr;
using namespace asr::io;
using asr::iotest::expect_error;
using asr::iotest::fixture;
using asr::iotest::read_file;
using Kind = PickleValue::Kind;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s.push_back(static_cast<char>(c));
  return s;
}
std::string unicode(const std::string& s) {  // BINUNICODE
  std::string out = "X";
  uint32_t n = static_cast<uint32_t>(s.size());
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((n >> (8 * k)) & 0xff));
  return out + s;
}

// {'a': 1, 'b': [2, -1, 2**32], 'c': ('x', None, True)} written the way pickle protocol 2 does.
std::string small_pickle() {
  return bytes({0x80, 2}) + "}q" + bytes({0}) + "(" + unicode("a") + "K" + bytes({1}) + unicode("b") + "]q" +
         bytes({1}) + "(K" + bytes({2}) + "J" + bytes({0xff, 0xff, 0xff, 0xff}) + bytes({0x8a, 5, 0, 0, 0, 0, 1}) +
         "e" + unicode("c") + unicode("x") + "q" + bytes({2}) + "N" + bytes({0x88, 0x87}) + "u.";
}

// The same hand-written evil pickle as tools/make_nemo_fixtures.py: {'encoder.x': os.system(...)}.
std::string evil_pickle() {
  return bytes({0x80, 2}) + "}q" + bytes({0}) + unicode("encoder.x") + "q" + bytes({1}) + "cos\nsystem\nq" +
         bytes({2}) + unicode("echo unknown-global") + "q" + bytes({3}) + bytes({0x85}) + "q" + bytes({4}) + "Rq" +
         bytes({5}) + "s.";
}

std::map<std::string, std::string> zip_members(const std::string& path) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!z) throw Error("cannot open " + path);
  std::map<std::string, std::string> out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st);
    std::string data(st.size, '\0');
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    zip_fread(f, data.data(), st.size);
    zip_fclose(f);
    out[st.name] = data;
  }
  zip_discard(z);
  return out;
}

std::string make_zip(const std::map<std::string, std::string>& members) {
  std::string path = asr::test::temp_path("io_test.zip");
  std::filesystem::remove(path);
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  for (const auto& [name, data] : members) {
    zip_source_t* s = zip_source_buffer(z, data.data(), data.size(), 0);
    zip_int64_t idx = zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  zip_close(z);
  return read_file(path);
}

std::string find_key(const std::map<std::string, std::string>& m, const std::string& suffix) {
  for (const auto& [k, _] : m)
    if (k.size() >= suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0) return k;
  throw Error("no member ending in " + suffix);
}

void expect_matches_torch(const StateDict& sd, const nlohmann::json& expected) {
  ASSERT_EQ(sd.size(), expected.size());
  for (const auto& [key, e] : expected.items()) {
    auto it = sd.find(key);
    ASSERT_NE(it, sd.end()) << key;
    const Tensor& t = it->second;
    const std::string torch_dtype = e["dtype"];
    const DType want = torch_dtype == "int64" ? DType::I64
                       : torch_dtype == "int32" ? DType::I32
                       : torch_dtype == "bool"  ? DType::Bool
                                                : DType::F32;  // every float type arrives as f32
    EXPECT_EQ(t.dtype(), want) << key;
    EXPECT_EQ(t.shape(), e["shape"].get<Shape>()) << key;
    EXPECT_TRUE(t.is_contiguous()) << key;
    EXPECT_FALSE(t.read_only()) << key;  // an owned copy, not a view of the zip bytes
    if (want == DType::I64) {  // compare exactly (2**40 + 3 would survive doubles, but be strict)
      const int64_t* p = t.data<int64_t>();
      for (size_t i = 0; i < e["values"].size(); ++i) EXPECT_EQ(p[i], e["values"][i].get<int64_t>()) << key;
    } else {
      std::vector<double> got = t.to_vector();
      ASSERT_EQ(got.size(), e["values"].size()) << key;
      for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], e["values"][i].get<double>()) << key << "[" << i << "]";
    }
  }
}

nlohmann::json expected_json() { return nlohmann::json::parse(read_file(fixture("io/expected.json"))); }

}  // namespace

TEST(Unpickler, DecodesContainersIntsStringsAndMemo) {
  PickleValuePtr v = unpickle(small_pickle(), "small.pkl");
  ASSERT_EQ(v->kind, Kind::Dict);
  ASSERT_EQ(v->dict.size(), 3u);
  EXPECT_EQ(v->dict[0].first->s, "a");
  EXPECT_EQ(v->dict[0].second->i, 1);
  const PickleValue& list = *v->dict[1].second;
  ASSERT_EQ(list.kind, Kind::List);
  ASSERT_EQ(list.items.size(), 3u);
  EXPECT_EQ(list.items[0]->i, 2);
  EXPECT_EQ(list.items[1]->i, -1);
  EXPECT_EQ(list.items[2]->i, int64_t{1} << 32);
  const PickleValue& tup = *v->dict[2].second;
  ASSERT_EQ(tup.kind, Kind::Tuple);
  EXPECT_EQ(tup.items[0]->s, "x");
  EXPECT_EQ(tup.items[1]->kind, Kind::None);
  EXPECT_TRUE(tup.items[2]->b);
}

TEST(Unpickler, RefusesUnknownGlobalsWithoutRunningThem) {
  std::string msg = expect_error([] { unpickle(evil_pickle(), "evil.pkl"); }, {"evil.pkl", "'os.system'", "refused"});
  // STACK_GLOBAL (protocol 4) goes through the same allow-list.
  std::string sg = bytes({0x80, 4}) + bytes({0x8c, 8}) + "builtins" + bytes({0x8c, 4}) + "eval" + bytes({0x93}) + ".";
  expect_error([&] { unpickle(sg, "sg.pkl"); }, {"sg.pkl", "'builtins.eval'", "refused"});
  // An allowed storage type is data, not a callable.
  std::string call = bytes({0x80, 2}) + "ctorch\nFloatStorage\n)R.";
  expect_error([&] { unpickle(call, "call.pkl"); }, {"call.pkl", "torch.FloatStorage", "cannot be called"});
}

TEST(Unpickler, RefusesMalformedStorageReferences) {
  auto pid = [](const std::string& key, const std::string& type) {
    return bytes({0x80, 2}) + "(" + unicode("storage") + "c" + type + "\n" + unicode(key) + unicode("cpu") + "K" +
           bytes({4}) + "tQ.";
  };
  PickleValuePtr ok = unpickle(pid("0", "torch\nFloatStorage"), "p.pkl");
  ASSERT_EQ(ok->kind, Kind::Storage);
  EXPECT_EQ(ok->storage->numel, 4);
  EXPECT_EQ(ok->storage->dtype, DType::F32);
  expect_error([&] { unpickle(pid("../../etc/passwd", "torch\nFloatStorage"), "p.pkl"); }, {"p.pkl", "unexpected characters"});
  expect_error([&] { unpickle(pid("0", "torch\nByteStorage"), "p.pkl"); }, {"p.pkl", "torch.ByteStorage", "refused"});
}

TEST(Unpickler, EveryTruncationFailsCleanly) {
  for (const std::string& p : {small_pickle(), evil_pickle()})
    for (size_t n = 0; n < p.size(); ++n)
      EXPECT_THROW(unpickle(p.substr(0, n), "cut.pkl"), Error) << "prefix of " << n << " bytes";
}

TEST(Unpickler, CorruptedTorchPickleNeverCrashes) {
  auto members = zip_members(fixture("io/mixed_dtypes.ckpt"));
  const std::string pkl = members.at(find_key(members, "/data.pkl"));
  int failures = 0;
  for (size_t i = 0; i < pkl.size(); ++i)
    for (int v : {0x00, 0x7f, 0xff}) {
      std::string bad = pkl;
      bad[i] = static_cast<char>(v);
      try {
        unpickle(bad, "fuzz.pkl");
      } catch (const Error&) {
        ++failures;
      }
    }
  EXPECT_GT(failures, 0);
}

TEST(TorchCheckpoint, ReadsEveryDtypeViewsOffsetsAndParameters) {
  nlohmann::json exp = expected_json()["tensors"];
  exp.erase("big_endian");
  StateDict sd = read_torch_state_dict(read_file(fixture("io/mixed_dtypes.ckpt")), "mixed_dtypes.ckpt");
  expect_matches_torch(sd, exp);
  EXPECT_EQ(sd.at("i64_scalar").dim(), 0);
  EXPECT_EQ(sd.at("f32_transposed").shape(), (Shape{4, 3}));
}

TEST(TorchCheckpoint, ReadsProtocolFourPickles) {
  nlohmann::json exp = expected_json()["tensors"];
  exp.erase("big_endian");
  expect_matches_torch(read_torch_state_dict(read_file(fixture("io/mixed_dtypes_p4.ckpt")), "p4.ckpt"), exp);
}

TEST(TorchCheckpoint, SwapsBigEndianStorages) {
  expect_matches_torch(read_torch_state_dict(read_file(fixture("io/big_endian.ckpt")), "be.ckpt"),
                       expected_json()["tensors"]["big_endian"]);
}

TEST(TorchCheckpoint, DamagedCheckpointsGiveOneLineErrors) {
  const std::string good = read_file(fixture("io/mixed_dtypes.ckpt"));
  expect_error([&] { read_torch_state_dict(good.substr(0, good.size() / 2), "half.ckpt"); }, {"half.ckpt", "zip"});
  expect_error([&] { read_torch_state_dict("not a zip at all", "text.ckpt"); }, {"text.ckpt", "zip"});
  expect_error([&] { read_torch_state_dict(bytes({0x80, 2, 0x8a, 0x0a}), "legacy.ckpt"); }, {"legacy.ckpt", "legacy"});

  auto members = zip_members(fixture("io/mixed_dtypes.ckpt"));
  const std::string storage0 = find_key(members, "/data/0");
  auto short_storage = members;
  short_storage[storage0].resize(short_storage[storage0].size() - 4);
  expect_error([&] { read_torch_state_dict(make_zip(short_storage), "short.ckpt"); }, {"short.ckpt", "storage 0", "fewer"});

  auto no_storage = members;
  no_storage.erase(storage0);
  expect_error([&] { read_torch_state_dict(make_zip(no_storage), "nostore.ckpt"); }, {"nostore.ckpt", "data/0", "missing"});

  auto no_pickle = members;
  no_pickle.erase(find_key(members, "/data.pkl"));
  expect_error([&] { read_torch_state_dict(make_zip(no_pickle), "nopkl.ckpt"); }, {"nopkl.ckpt", "data.pkl"});

  auto evil = members;
  evil[find_key(members, "/data.pkl")] = evil_pickle();
  expect_error([&] { read_torch_state_dict(make_zip(evil), "evil.ckpt"); }, {"evil.ckpt", "os.system", "refused"});
}

TEST(TorchCheckpoint, RejectsTheFixtureWithAnUnknownGlobal) {
  const std::string path = fixture("nemo/bad/unknown_global_model_weights.ckpt");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "NeMo fixtures not generated yet";
  expect_error([&] { read_torch_state_dict(read_file(path), "unknown_global_model_weights.ckpt"); },
               {"unknown_global_model_weights.ckpt", "'os.system'", "refused"});
}

TEST(Unpickler, DeeplyNestedInputDoesNotOverflowTheStack) {
  // 500,000 nested empty lists ([[[[...]]]]), built with EMPTY_LIST + APPEND pairs.
  const int depth = 500000;
  std::string p = bytes({0x80, 2});
  p.append(static_cast<size_t>(depth), ']');
  p.append(static_cast<size_t>(depth - 1), 'a');
  p += ".";
  PickleValuePtr v = unpickle(p, "deep.pkl");
  EXPECT_EQ(v->kind, Kind::List);
  v.reset();  // the destructor must not recurse 500,000 levels
}
