// The torch.save writer: what it writes reads back through our own reader bit for bit, and the
// zip has the layout torch relies on (stored members, data at 64-byte offsets, byteorder and
// version records). torch.load itself reads these files in tools/verify_nemo_export.py.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "asr/io/torch_checkpoint.h"
#include "asr/io/torch_zip_writer.h"
#include "asr/io/unpickler.h"
#include "support/test_util.h"

namespace asr {
namespace {

using io::TorchValue;

uint64_t le(const std::string& b, size_t at, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(k)]);
  return v;
}

struct ZipMember {
  std::string name;
  uint16_t method;
  uint64_t data_offset, size;
  uint32_t crc;
};

// Walks the local headers from the start of the file (what a streaming reader sees).
std::vector<ZipMember> local_members(const std::string& zip) {
  std::vector<ZipMember> out;
  size_t at = 0;
  while (at + 30 <= zip.size() && le(zip, at, 4) == 0x04034b50u) {
    ZipMember m;
    m.method = static_cast<uint16_t>(le(zip, at + 8, 2));
    m.crc = static_cast<uint32_t>(le(zip, at + 14, 4));
    m.size = le(zip, at + 22, 4);
    const size_t name_len = le(zip, at + 26, 2), extra_len = le(zip, at + 28, 2);
    m.name = zip.substr(at + 30, name_len);
    m.data_offset = at + 30 + name_len + extra_len;
    out.push_back(m);
    at = m.data_offset + m.size;
  }
  return out;
}

io::StateDict sample_state() {
  io::StateDict sd;
  sd["a.weight"] = Tensor::from_vector(std::vector<float>{1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 7.0f}, {2, 3});
  sd["b.bias"] = Tensor::from_vector(std::vector<float>{0.125f}, {1});
  sd["bn.num_batches_tracked"] = Tensor::from_vector(std::vector<int64_t>{123456789012LL}, {});  // 0-d
  Tensor mask = Tensor::zeros({4}, DType::Bool);
  mask.data<bool>()[1] = true;
  mask.data<bool>()[3] = true;
  sd["mask"] = mask;
  sd["empty"] = Tensor::zeros({0, 3});
  Tensor idx = Tensor::zeros({3}, DType::I32);
  idx.data<int32_t>()[0] = -7;
  idx.data<int32_t>()[2] = 1 << 30;
  sd["idx"] = idx;
  return sd;
}

TEST(TorchZipWriter, StateDictRoundTripsThroughOurReaderBitForBit) {
  const io::StateDict sd = sample_state();
  const std::string zip = io::torch_state_dict_bytes(sd, "model_weights");
  const io::StateDict back = io::read_torch_state_dict(zip, "mem.ckpt");
  ASSERT_EQ(back.size(), sd.size());
  for (const auto& [k, t] : sd) {
    ASSERT_TRUE(back.count(k)) << k;
    const Tensor& b = back.at(k);
    EXPECT_EQ(b.shape(), t.shape()) << k;
    EXPECT_EQ(b.dtype(), t.dtype()) << k;
    EXPECT_EQ(std::memcmp(b.contiguous().raw_data(), t.contiguous().raw_data(), t.nbytes()), 0) << k;
  }
}

TEST(TorchZipWriter, F64AndNonContiguousTensorsAreWrittenAsTheirValues) {
  io::StateDict sd;
  Tensor d = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).to(DType::F64);
  sd["d"] = d;
  sd["t"] = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).transpose(0, 1);  // [3, 2] view
  const io::StateDict back = io::read_torch_state_dict(io::torch_state_dict_bytes(sd), "mem");
  EXPECT_EQ(back.at("d").dtype(), DType::F32);  // the reader's documented conversion
  EXPECT_EQ(back.at("d").to_vector(), d.to_vector());
  EXPECT_EQ(back.at("t").shape(), (Shape{3, 2}));
  EXPECT_EQ(back.at("t").to_vector(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
}

TEST(TorchZipWriter, MembersAreStoredAlignedAndInTorchsOrder) {
  const io::StateDict sd = sample_state();
  const std::string zip = io::torch_state_dict_bytes(sd, "archive");
  ASSERT_EQ(zip.compare(0, 4, "PK\x03\x04"), 0);
  const std::vector<ZipMember> m = local_members(zip);
  ASSERT_EQ(m.size(), 4 + sd.size() + 1);
  EXPECT_EQ(m[0].name, "archive/data.pkl");
  EXPECT_EQ(m[1].name, "archive/.format_version");
  EXPECT_EQ(m[2].name, "archive/.storage_alignment");
  EXPECT_EQ(m[3].name, "archive/byteorder");
  EXPECT_EQ(m[4].name, "archive/data/0");
  EXPECT_EQ(m.back().name, "archive/version");
  for (const ZipMember& z : m) {
    EXPECT_EQ(z.method, 0) << z.name << " must be stored, not deflated";
    EXPECT_EQ(z.data_offset % 64, 0u) << z.name << " data must start at a 64-byte boundary";
  }
  auto data = [&](size_t i) { return zip.substr(m[i].data_offset, m[i].size); };
  EXPECT_EQ(data(1), "1");
  EXPECT_EQ(data(2), "64");
  EXPECT_EQ(data(3), "little");
  EXPECT_EQ(data(m.size() - 1), "3\n");
  // Storages follow the key order of the state dict ("a.weight" first): raw little-endian f32.
  const Tensor& a = sd.at("a.weight");
  EXPECT_EQ(data(4), std::string(static_cast<const char*>(a.raw_data()), a.nbytes()));
  // The end-of-central-directory record counts every member.
  const size_t eocd = zip.size() - 22;
  EXPECT_EQ(le(zip, eocd, 4), 0x06054b50u);
  EXPECT_EQ(le(zip, eocd + 10, 2), m.size());
}

TEST(TorchZipWriter, PickleHoldsNestedContainersAndScalarsOfEveryWidth) {
  TorchValue root = TorchValue::plain_dict();
  TorchValue list = TorchValue::list();
  for (int64_t v : {0LL, 255LL, 256LL, 65535LL, 65536LL, -1LL, -2147483648LL, 2147483648LL, -9000000000000LL})
    list.items.push_back(TorchValue::integer(v));
  root.set("ints", list);
  root.set("pi", TorchValue::real(3.141592653589793));
  root.set("text", TorchValue::string("héllo: 'x'"));
  root.set("none", TorchValue::none());
  root.set("flag", TorchValue::boolean(true));
  TorchValue inner = TorchValue::ordered_dict();
  inner.set("w", TorchValue::of(Tensor::from_vector(std::vector<float>{4, 5}, {2})));
  root.set("sd", TorchValue::list({inner}));

  std::vector<Tensor> storages;
  const io::PickleValuePtr v = io::unpickle(io::pickle_torch_value(root, &storages), "mem");
  ASSERT_EQ(v->kind, io::PickleValue::Kind::Dict);
  ASSERT_EQ(v->dict.size(), 6u);
  const auto& ints = v->dict[0].second->items;
  ASSERT_EQ(ints.size(), 9u);
  EXPECT_EQ(ints[0]->i, 0);
  EXPECT_EQ(ints[4]->i, 65536);
  EXPECT_EQ(ints[6]->i, -2147483648LL);
  EXPECT_EQ(ints[7]->i, 2147483648LL);
  EXPECT_EQ(ints[8]->i, -9000000000000LL);
  EXPECT_DOUBLE_EQ(v->dict[1].second->f, 3.141592653589793);
  EXPECT_EQ(v->dict[2].second->s, "héllo: 'x'");
  EXPECT_EQ(v->dict[3].second->kind, io::PickleValue::Kind::None);
  EXPECT_TRUE(v->dict[4].second->b);
  const auto& sd = *v->dict[5].second->items.at(0);
  ASSERT_EQ(sd.kind, io::PickleValue::Kind::Dict);
  EXPECT_EQ(sd.dict[0].second->kind, io::PickleValue::Kind::Tensor);
  EXPECT_EQ(sd.dict[0].second->tensor.storage->key, "0");
  EXPECT_EQ(sd.dict[0].second->tensor.size, (std::vector<int64_t>{2}));
  ASSERT_EQ(storages.size(), 1u);
}

TEST(TorchZipWriter, DuplicateKeysAreRefused) {
  TorchValue d = TorchValue::ordered_dict();
  d.set("k", TorchValue::integer(1));
  EXPECT_ASR_ERROR(d.set("k", TorchValue::integer(2)), "duplicate key 'k'");
}

TEST(TorchZipWriter, AtomicWriteLeavesNothingBehindOnFailure) {
  const std::string path = test::temp_path("atomic.pt");
  std::remove(path.c_str());
  EXPECT_THROW(io::write_file_atomically(path, [](std::ostream& out) {
                 out << "partial";
                 throw Error("boom");
               }),
               Error);
  EXPECT_FALSE(std::ifstream(path).good());
  EXPECT_FALSE(std::ifstream(path + ".tmp-" + std::to_string(::getpid())).good());
  io::write_file_atomically(path, [](std::ostream& out) { out << "done"; });
  std::ifstream in(path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "done");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace asr
