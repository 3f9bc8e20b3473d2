// torch.save's zip format, written by hand: a protocol-2 pickle of TorchValues and a stored
// (uncompressed) zip whose member data start at 64-byte boundaries, as PyTorchStreamWriter does.
#include "asr/io/torch_zip_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "asr/autograd/node.h"
#include "asr/core/error.h"

namespace asr::io {

// ---- TorchValue ---------------------------------------------------------------------------

TorchValue TorchValue::boolean(bool v) {
  TorchValue t;
  t.kind = Kind::Bool;
  t.b = v;
  return t;
}
TorchValue TorchValue::integer(int64_t v) {
  TorchValue t;
  t.kind = Kind::Int;
  t.i = v;
  return t;
}
TorchValue TorchValue::real(double v) {
  TorchValue t;
  t.kind = Kind::Float;
  t.f = v;
  return t;
}
TorchValue TorchValue::string(std::string v) {
  TorchValue t;
  t.kind = Kind::String;
  t.s = std::move(v);
  return t;
}
TorchValue TorchValue::list(std::vector<TorchValue> v) {
  TorchValue t;
  t.kind = Kind::List;
  t.items = std::move(v);
  return t;
}
TorchValue TorchValue::plain_dict() {
  TorchValue t;
  t.kind = Kind::Dict;
  return t;
}
TorchValue TorchValue::ordered_dict() {
  TorchValue t;
  t.kind = Kind::OrderedDict;
  return t;
}
TorchValue TorchValue::of(const Tensor& tensor) {
  ASR_CHECK(tensor.defined(), "TorchValue::of", "undefined tensor");
  TorchValue t;
  t.kind = Kind::Tensor;
  t.tensor = tensor;
  return t;
}
TorchValue& TorchValue::set(const std::string& key, TorchValue v) {
  ASR_CHECK(kind == Kind::Dict || kind == Kind::OrderedDict, "TorchValue::set", "not a dict");
  for (const auto& kv : dict) ASR_CHECK(kv.first != key, "TorchValue::set", "duplicate key '", key, "'");
  dict.emplace_back(key, std::move(v));
  return dict.back().second;
}

namespace {

const char* storage_type(DType t) {
  switch (t) {
    case DType::F32: return "FloatStorage";
    case DType::F64: return "DoubleStorage";
    case DType::F16: return "HalfStorage";
    case DType::BF16: return "BFloat16Storage";
    case DType::I64: return "LongStorage";
    case DType::I32: return "IntStorage";
    case DType::Bool: return "BoolStorage";
  }
  throw Error("torch zip writer: unsupported dtype");
}

// ---- pickle protocol 2 ----------------------------------------------------------------------

class PickleWriter {
 public:
  explicit PickleWriter(std::vector<Tensor>* storages) : storages_(storages) {}

  std::string run(const TorchValue& root) {
    out_ += "\x80\x02";  // PROTO 2
    value(root);
    out_ += '.';  // STOP
    return std::move(out_);
  }

 private:
  void le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) out_ += static_cast<char>((v >> (8 * k)) & 0xff);
  }
  void global(const char* module, const char* name) {
    out_ += 'c';
    out_ += module;
    out_ += '\n';
    out_ += name;
    out_ += '\n';
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';  // BININT1
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      out_ += 'M';  // BININT2
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';  // BININT (signed)
      le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
      out_ += '\x8a';  // LONG1: 8-byte little-endian two's complement
      out_ += '\x08';
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void string(const std::string& s) {
    out_ += 'X';  // BINUNICODE (UTF-8)
    le(s.size(), 4);
    out_ += s;
  }
  void int_tuple(const Shape& v) {
    out_ += '(';
    for (int64_t x : v) integer(x);
    out_ += 't';
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    out_ += ")R";  // EMPTY_TUPLE REDUCE
  }
  void items(const std::vector<std::pair<std::string, TorchValue>>& kv) {
    if (kv.empty()) return;
    out_ += '(';  // MARK
    for (const auto& [k, v] : kv) {
      string(k);
      value(v);
    }
    out_ += 'u';  // SETITEMS
  }

  // torch._utils._rebuild_tensor_v2(('storage', torch.<T>Storage, key, 'cpu', numel), 0, size,
  // stride, False, OrderedDict()), as torch.save pickles a tensor with its own storage.
  void tensor(const Tensor& t) {
    const std::string key = std::to_string(storages_->size());
    storages_->push_back(t);
    global("torch._utils", "_rebuild_tensor_v2");
    out_ += '(';
    out_ += '(';
    string("storage");
    global("torch", storage_type(t.dtype()));
    string(key);
    string("cpu");
    integer(t.numel());
    out_ += 't';
    out_ += 'Q';  // BINPERSID
    integer(0);
    int_tuple(t.shape());
    Shape stride(t.shape().size(), 1);
    for (int64_t d = static_cast<int64_t>(stride.size()) - 2; d >= 0; --d)
      stride[d] = stride[d + 1] * t.shape()[d + 1];
    int_tuple(stride);
    out_ += '\x89';  // NEWFALSE: requires_grad
    empty_ordered_dict();  // backward hooks
    out_ += "tR";          // TUPLE REDUCE
  }

  void value(const TorchValue& v) {
    using K = TorchValue::Kind;
    switch (v.kind) {
      case K::None: out_ += 'N'; break;
      case K::Bool: out_ += v.b ? '\x88' : '\x89'; break;
      case K::Int: integer(v.i); break;
      case K::Float: {
        uint64_t bits;
        std::memcpy(&bits, &v.f, 8);
        out_ += 'G';  // BINFLOAT, big-endian
        for (int k = 7; k >= 0; --k) out_ += static_cast<char>((bits >> (8 * k)) & 0xff);
        break;
      }
      case K::String: string(v.s); break;
      case K::List:
        out_ += ']';  // EMPTY_LIST
        if (!v.items.empty()) {
          out_ += '(';
          for (const auto& it : v.items) value(it);
          out_ += 'e';  // APPENDS
        }
        break;
      case K::Dict:
        out_ += '}';  // EMPTY_DICT
        items(v.dict);
        break;
      case K::OrderedDict:
        empty_ordered_dict();
        items(v.dict);
        break;
      case K::Tensor: tensor(v.tensor); break;
    }
  }

  std::string out_;
  std::vector<Tensor>* storages_;
};

// ---- zip (stored, 64-byte aligned, zip64 only when needed) ----------------------------------

uint32_t crc32(const char* data, size_t n, uint32_t crc = 0) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (crc >> 8);
  return ~crc;
}

constexpr uint64_t kAlign = 64;          // torch's kFieldAlignment
constexpr uint64_t kMax32 = 0xFFFFFFFFu;

class ZipWriter {
 public:
  explicit ZipWriter(std::ostream& out) : out_(out) {}

  void add(const std::string& name, const char* data, uint64_t size) {
    Entry e{name, crc32(data, size), size, pos_, false};
    e.zip64 = size >= kMax32 || pos_ >= kMax32;
    std::string h;
    put(h, 0x04034b50u, 4);
    put(h, e.zip64 ? 45 : 20, 2);  // version needed
    put(h, 0, 2);                  // flags
    put(h, 0, 2);                  // method: stored
    put(h, 0, 4);                  // time, date (torch writes zeros too)
    put(h, e.crc, 4);
    put(h, e.zip64 ? kMax32 : size, 4);
    put(h, e.zip64 ? kMax32 : size, 4);
    put(h, name.size(), 2);
    std::string extra;
    if (e.zip64) {
      put(extra, 0x0001, 2);
      put(extra, 16, 2);
      put(extra, size, 8);
      put(extra, size, 8);
    }
    // "FB" padding record: the data start at a multiple of 64 bytes.
    const uint64_t unpadded = pos_ + 30 + name.size() + extra.size() + 4;
    const uint64_t pad = (kAlign - unpadded % kAlign) % kAlign;
    put(extra, 0x4246, 2);
    put(extra, pad, 2);
    extra.append(pad, 'Z');
    put(h, extra.size(), 2);
    h += name;
    h += extra;
    write(h.data(), h.size());
    write(data, size);
    entries_.push_back(e);
  }

  void finish() {
    const uint64_t cd_start = pos_;
    for (const Entry& e : entries_) {
      std::string h;
      put(h, 0x02014b50u, 4);
      put(h, e.zip64 ? 45 : 20, 2);  // version made by
      put(h, e.zip64 ? 45 : 20, 2);  // version needed
      put(h, 0, 2);
      put(h, 0, 2);
      put(h, 0, 4);
      put(h, e.crc, 4);
      put(h, e.zip64 ? kMax32 : e.size, 4);
      put(h, e.zip64 ? kMax32 : e.size, 4);
      put(h, e.name.size(), 2);
      put(h, e.zip64 ? 28 : 0, 2);  // extra length
      put(h, 0, 2);                 // comment length
      put(h, 0, 2);                 // disk number
      put(h, 0, 2);                 // internal attributes
      put(h, 0, 4);                 // external attributes
      put(h, e.zip64 ? kMax32 : e.offset, 4);
      h += e.name;
      if (e.zip64) {
        put(h, 0x0001, 2);
        put(h, 24, 2);
        put(h, e.size, 8);
        put(h, e.size, 8);
        put(h, e.offset, 8);
      }
      write(h.data(), h.size());
    }
    const uint64_t cd_size = pos_ - cd_start, n = entries_.size();
    std::string t;
    if (n >= 0xFFFF || cd_start >= kMax32 || cd_size >= kMax32 || any_zip64()) {
      const uint64_t eocd64 = pos_;
      put(t, 0x06064b50u, 4);
      put(t, 44, 8);  // size of the rest of this record
      put(t, 45, 2);
      put(t, 45, 2);
      put(t, 0, 4);
      put(t, 0, 4);
      put(t, n, 8);
      put(t, n, 8);
      put(t, cd_size, 8);
      put(t, cd_start, 8);
      put(t, 0x07064b50u, 4);  // zip64 end-of-central-directory locator
      put(t, 0, 4);
      put(t, eocd64, 8);
      put(t, 1, 4);
    }
    put(t, 0x06054b50u, 4);
    put(t, 0, 2);
    put(t, 0, 2);
    put(t, std::min<uint64_t>(n, 0xFFFF), 2);
    put(t, std::min<uint64_t>(n, 0xFFFF), 2);
    put(t, std::min(cd_size, kMax32), 4);
    put(t, std::min(cd_start, kMax32), 4);
    put(t, 0, 2);  // comment length
    write(t.data(), t.size());
  }

 private:
  struct Entry {
    std::string name;
    uint32_t crc;
    uint64_t size, offset;
    bool zip64;
  };
  static void put(std::string& s, uint64_t v, int n) {
    for (int k = 0; k < n; ++k) s += static_cast<char>((v >> (8 * k)) & 0xff);
  }
  bool any_zip64() const {
    for (const Entry& e : entries_)
      if (e.zip64) return true;
    return false;
  }
  void write(const char* p, uint64_t n) {
    out_.write(p, static_cast<std::streamsize>(n));
    if (!out_) throw Error("torch zip writer: write failed");
    pos_ += n;
  }

  std::ostream& out_;
  uint64_t pos_ = 0;
  std::vector<Entry> entries_;
};

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

void fsync_path(const std::string& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Error(str_cat(p, ": cannot open for fsync (", std::strerror(errno), ")"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(str_cat(p, ": fsync failed (", std::strerror(errno), ")"));
}

}  // namespace

std::string pickle_torch_value(const TorchValue& root, std::vector<Tensor>* storages) {
  std::vector<Tensor> unused;
  return PickleWriter(storages ? storages : &unused).run(root);
}

void write_torch_zip(std::ostream& out, const TorchValue& root, const std::string& archive_name) {
  ASR_CHECK(host_is_little_endian(), "write_torch_zip", "big-endian hosts are not supported");
  ASR_CHECK(!archive_name.empty() && archive_name.find('/') == std::string::npos, "write_torch_zip",
            "bad archive name '", archive_name, "'");
  std::vector<Tensor> storages;
  const std::string pkl = pickle_torch_value(root, &storages);
  ZipWriter zip(out);
  const std::string dir = archive_name + "/";
  auto add_text = [&](const std::string& name, const std::string& text) {
    zip.add(dir + name, text.data(), text.size());
  };
  add_text("data.pkl", pkl);
  add_text(".format_version", "1");
  add_text(".storage_alignment", std::to_string(kAlign));
  add_text("byteorder", "little");
  autograd::NoGradGuard no_grad;
  for (size_t k = 0; k < storages.size(); ++k) {
    Tensor t = storages[k].device().is_cpu() ? storages[k] : storages[k].to(Device::cpu());
    t = t.contiguous();
    zip.add(dir + "data/" + std::to_string(k), static_cast<const char*>(t.raw_data()), t.nbytes());
  }
  add_text("version", "3\n");
  zip.finish();
}

std::string torch_zip_bytes(const TorchValue& root, const std::string& archive_name) {
  std::ostringstream os;
  write_torch_zip(os, root, archive_name);
  return os.str();
}

std::string torch_state_dict_bytes(const StateDict& weights, const std::string& archive_name) {
  TorchValue sd = TorchValue::ordered_dict();
  for (const auto& [key, t] : weights) sd.set(key, TorchValue::of(t));
  return torch_zip_bytes(sd, archive_name);
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = str_cat(path, ".tmp-", ::getpid());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(str_cat(tmp, ": cannot create (", std::strerror(errno), ")"));
      write(out);
      out.flush();
      if (!out) throw Error(str_cat(tmp, ": write failed (", std::strerror(errno), ")"));
    }
    fsync_path(tmp, false);
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(str_cat(path, ": cannot rename ", tmp, " into place (", std::strerror(errno), ")"));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  const size_t slash = path.rfind('/');
  fsync_path(slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash)), true);
}

}  // namespace asr::io
