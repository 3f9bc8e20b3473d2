// torch.save zip checkpoints (libzip, read from memory) -> StateDict via the restricted unpickler.
#include <zip.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>

#include "asr/autograd/node.h"
#include "asr/io/torch_checkpoint.h"
#include "asr/io/unpickler.h"

namespace asr::io {
namespace {

class ZipReader {
 public:
  ZipReader(const std::string& bytes, const std::string& source) : src_(source), archive_bytes_(bytes.size()) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* zs = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
    if (zs) {
      zip_ = zip_open_from_source(zs, ZIP_RDONLY, &err);
      if (!zip_) zip_source_free(zs);
    }
    if (!zip_) {
      std::string msg = zip_error_strerror(&err);
      zip_error_fini(&err);
      throw Error(str_cat(source, ": not a readable torch zip checkpoint (", msg, ")"));
    }
    zip_error_fini(&err);
  }
  ~ZipReader() { zip_discard(zip_); }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i)
      if (const char* nm = zip_get_name(zip_, static_cast<zip_uint64_t>(i), 0)) out.emplace_back(nm);
    return out;
  }
  bool has(const std::string& name) const { return zip_name_locate(zip_, name.c_str(), 0) >= 0; }

  // A member's uncompressed size as its headers declare it, checked against the archive before
  // anything is allocated: a stored member is no larger than the archive, a deflated one expands
  // at most kMaxDeflateRatio times (deflate's own bound is ~1032x).
  uint64_t declared_size(const std::string& name) const {
    const zip_int64_t idx = zip_name_locate(zip_, name.c_str(), 0);
    if (idx < 0) throw Error(str_cat(src_, ": member '", name, "' is missing"));
    zip_stat_t st;
    zip_stat_init(&st);
    const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if (zip_stat_index(zip_, static_cast<zip_uint64_t>(idx), 0, &st) != 0 || (st.valid & need) != need)
      throw Error(str_cat(src_, ": cannot stat member '", name, "'"));
    if (st.comp_size > archive_bytes_)
      throw Error(str_cat(src_, ": member '", name, "' declares ", st.comp_size, " compressed bytes, more than the whole ",
                          archive_bytes_, "-byte checkpoint"));
    if (st.comp_method == ZIP_CM_STORE) {
      if (st.size != st.comp_size)
        throw Error(str_cat(src_, ": member '", name, "' is stored uncompressed but declares ", st.size,
                            " bytes in ", st.comp_size));
    } else if (st.comp_method == ZIP_CM_DEFLATE) {
      if (st.size / kMaxDeflateRatio > st.comp_size)
        throw Error(str_cat(src_, ": member '", name, "' declares ", st.size, " bytes from ", st.comp_size,
                            " deflated ones (more than deflate can expand)"));
    } else {
      throw Error(str_cat(src_, ": member '", name, "' uses zip compression method ", st.comp_method,
                          " (torch stores members uncompressed)"));
    }
    return st.size;
  }

  std::string read(const std::string& name) const {
    const uint64_t size = declared_size(name);
    zip_file_t* f = zip_fopen(zip_, name.c_str(), 0);
    if (!f) throw Error(str_cat(src_, ": cannot open member '", name, "' (", zip_strerror(zip_), ")"));
    std::string out(size, '\0');
    zip_int64_t got = size ? zip_fread(f, out.data(), size) : 0;
    std::string why = got < 0 ? zip_file_strerror(f) : "";
    zip_fclose(f);
    if (got < 0 || static_cast<zip_uint64_t>(got) != size)
      throw Error(str_cat(src_, ": member '", name, "' is truncated or corrupt", why.empty() ? "" : " (" + why + ")"));
    return out;
  }

 private:
  static constexpr uint64_t kMaxDeflateRatio = 1100;
  std::string src_;
  uint64_t archive_bytes_ = 0;
  zip_t* zip_ = nullptr;
};

// The archive folder torch chose ("archive", or the file's stem): the one holding data.pkl.
std::string find_prefix(const ZipReader& zip, const std::string& source) {
  std::string prefix;
  for (const std::string& n : zip.names()) {
    size_t slash = n.find('/');
    if (slash != std::string::npos && n.compare(slash, std::string::npos, "/data.pkl") == 0) {
      if (!prefix.empty()) throw Error(str_cat(source, ": more than one data.pkl in the checkpoint"));
      prefix = n.substr(0, slash);
    }
  }
  if (prefix.empty()) throw Error(str_cat(source, ": no <archive>/data.pkl in the checkpoint (not a torch.save file)"));
  return prefix;
}

// Highest element index a (size, stride, offset) view touches, +1; -1 on overflow or negatives.
int64_t view_extent(const PickledTensor& t) {
  if (t.offset < 0) return -1;
  int64_t last = t.offset;
  for (size_t d = 0; d < t.size.size(); ++d) {
    if (t.size[d] < 0 || t.stride[d] < 0) return -1;
    if (t.size[d] == 0) return 0;
  }
  for (size_t d = 0; d < t.size.size(); ++d) {
    int64_t step;
    if (__builtin_mul_overflow(t.size[d] - 1, t.stride[d], &step) || __builtin_add_overflow(last, step, &last))
      return -1;
  }
  return last == INT64_MAX ? -1 : last + 1;
}

void byteswap(std::string& data, size_t elem) {
  for (size_t i = 0; i + elem <= data.size(); i += elem)
    for (size_t a = i, b = i + elem - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
}

}  // namespace

StateDict read_torch_state_dict(const std::string& zip_bytes, const std::string& source) {
  if (zip_bytes.size() >= 2 && static_cast<uint8_t>(zip_bytes[0]) == 0x80)
    throw Error(str_cat(source, ": legacy (torch < 1.6) serialization is not supported; re-save it with a newer torch"));
  if (zip_bytes.size() < 4 || zip_bytes.compare(0, 4, "PK\x03\x04") != 0)
    throw Error(str_cat(source, ": not a torch zip checkpoint (no zip signature)"));
  ZipReader zip(zip_bytes, source);
  const std::string prefix = find_prefix(zip, source);
  const std::string pkl_name = prefix + "/data.pkl";
  const std::string where = source + ":" + pkl_name;

  bool big_endian = false;
  if (zip.has(prefix + "/byteorder")) {
    std::string bo = zip.read(prefix + "/byteorder");
    if (bo != "little" && bo != "big") throw Error(str_cat(source, ": unknown byteorder '", bo, "'"));
    big_endian = bo == "big";
  }

  PickleValuePtr root = unpickle(zip.read(pkl_name), where);
  if (root->kind != PickleValue::Kind::Dict)
    throw Error(str_cat(where, ": top level is a ", root->kind_name(), ", expected a state dict"));

  autograd::NoGradGuard no_grad;
  // key -> raw bytes, read once and dropped after the last tensor that uses it (peak memory stays
  // near checkpoint + state dict rather than checkpoint + 2x state dict).
  std::map<std::string, std::shared_ptr<std::string>> storages;
  std::map<std::string, int> uses;
  for (const auto& kv : root->dict)
    if (kv.second->kind == PickleValue::Kind::Tensor) ++uses[kv.second->tensor.storage->key];
  StateDict out;
  for (const auto& [k, v] : root->dict) {
    if (k->kind != PickleValue::Kind::String) throw Error(str_cat(where, ": state-dict key is a ", k->kind_name()));
    const std::string& key = k->s;
    if (v->kind != PickleValue::Kind::Tensor)
      throw Error(str_cat(where, ": '", key, "' is a ", v->kind_name(), ", expected a tensor"));
    const PickledTensor& pt = v->tensor;
    const PickledStorage& ps = *pt.storage;
    const size_t esize = dtype_size(ps.dtype);

    // Every size is checked against the member's declared bytes before the storage is read, and
    // the view may not hold more elements than its storage (a stride-0 view of one element could
    // otherwise ask for any size).
    const std::string member = prefix + "/data/" + ps.key;
    const uint64_t stored = zip.declared_size(member);
    if (static_cast<uint64_t>(ps.numel) > stored / esize)
      throw Error(str_cat(source, ": storage ", ps.key, " of '", key, "' holds ", stored, " bytes, ",
                          "fewer than its ", ps.numel, " ", dtype_name(ps.dtype), " elements"));
    const int64_t extent = view_extent(pt);
    int64_t view_numel = 1;
    for (int64_t d : pt.size)
      if (d < 0 || __builtin_mul_overflow(view_numel, d, &view_numel)) view_numel = -1;
    if (extent < 0 || extent > ps.numel || view_numel < 0 || view_numel > ps.numel)
      throw Error(str_cat(source, ": tensor '", key, "' (size ", shape_str(pt.size), ", offset ", pt.offset,
                          ") lies outside its storage of ", ps.numel, " elements"));
    auto& bytes = storages[ps.key];
    if (!bytes) {
      bytes = std::make_shared<std::string>(zip.read(member));
      if (big_endian && esize > 1) byteswap(*bytes, esize);
    }

    // Wrap the storage bytes (kept alive by the deleter) and copy the view out, converting
    // floating types to F32.
    std::shared_ptr<std::string> keep = bytes;
    Tensor base = Tensor::from_external(keep->data(), {ps.numel}, ps.dtype, Device::cpu(),
                                        [keep](void*) {}, true);
    Tensor view = make_view(base, pt.size, pt.stride, pt.offset);
    Tensor t = is_floating(ps.dtype) && ps.dtype != DType::F32 ? view.to(DType::F32) : view.clone();
    if (!out.emplace(key, t.set_name(key)).second)
      throw Error(str_cat(where, ": duplicate state-dict key '", key, "'"));
    if (--uses[ps.key] == 0) storages.erase(ps.key);
  }
  return out;
}

}  // namespace asr::io
