// asr-adapt's HDF5 checkpoint (docs/checkpoint-format.md): /weights/<state-dict key> contiguous,
// uncompressed, 64-byte aligned datasets, so a reader can mmap the file once (read-only, shared
// between processes) and wrap each dataset in place; config and tokenizer travel with them.
#include <fcntl.h>
#include <hdf5.h>

#include "asr/io/hdf5_handles.h"
#include "asr/io/hdf5_tensor.h"
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "asr/autograd/node.h"
#include "loaders.h"

namespace asr::io {
namespace {

constexpr int64_t kSchemaVersion = 1;
constexpr const char* kFormat = "asr-adapt checkpoint";
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the mmap loader assumes a little-endian host");

using QuietHdf5 = ::asr::h5::Quiet;
using ::asr::h5::check;
using ::asr::h5::Id;
using namespace ::asr::h5;  // the shared attribute/dataset helpers (hdf5_tensor.h)

// ---- writing ----------------------------------------------------------------------------------

std::string base_name(const std::string& p) { return p.substr(p.find_last_of('/') + 1); }

// ---- reading ----------------------------------------------------------------------------------

struct Mapping {  // the whole file, mapped read-only and shared; unmapped with the last tensor
  void* base = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (base) munmap(base, size);
  }
};

std::shared_ptr<Mapping> map_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(str_cat(path, ": cannot open (", std::strerror(errno), ")"));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(str_cat(path, ": cannot stat (", std::strerror(errno), ")"));
  }
  auto m = std::make_shared<Mapping>();
  m->size = static_cast<size_t>(st.st_size);
  void* p = m->size ? mmap(nullptr, m->size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (p == MAP_FAILED) throw Error(str_cat(path, ": cannot mmap (", std::strerror(errno), ")"));
  m->base = p;
  return m;
}

// One weight: wrapped in place inside the mapping when stored contiguously and aligned, else read
// (HDF5 converting as needed) into a buffer that is then wrapped read-only all the same.
Tensor load_weight(hid_t group, const std::string& key, const std::shared_ptr<Mapping>& map,
                   const std::string& path) {
  Id ds(H5Dopen2(group, key.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(str_cat(path, ": cannot open weight '", key, "'"));
  Id type(H5Dget_type(ds), H5Tclose);
  bool exact = true;
  DType dt;
  try {
    dt = dataset_dtype(type, exact);
  } catch (const Error&) {
    throw Error(str_cat(path, ": weight '", key, "' has an unsupported HDF5 datatype"));
  }
  const Shape shape = dataset_shape(ds);
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dt);
  if (nbytes == 0) return Tensor::empty(shape, dt);

  Id dcpl(H5Dget_create_plist(ds), H5Pclose);
  const haddr_t off = H5Dget_offset(ds);
  const bool mappable = exact && map && H5Pget_layout(dcpl) == H5D_CONTIGUOUS && off != HADDR_UNDEF &&
                        off % dtype_size(dt) == 0 && off <= map->size && nbytes <= map->size - off &&
                        H5Dget_storage_size(ds) == nbytes;
  if (mappable) {
    std::shared_ptr<Mapping> keep = map;
    return Tensor::from_external(static_cast<char*>(map->base) + off, shape, dt, Device::cpu(),
                                 [keep](void*) {}, true);
  }
  auto* buf = static_cast<char*>(std::malloc(nbytes));
  if (!buf) throw Error(str_cat(path, ": out of memory reading '", key, "'"));
  Id mtype(mem_type_for(dt), H5Tclose);
  if (H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    std::free(buf);
    throw Error(str_cat(path, ": cannot read weight '", key, "' (truncated or corrupt file?)"));
  }
  return Tensor::from_external(buf, shape, dt, Device::cpu(), [](void* p) { std::free(p); }, true);
}

}  // namespace

void write_model_h5(const ModelFile& model, const std::string& out_path) {
  QuietHdf5 quiet;
  h5::AtomicFileWrite output(out_path);
  const std::string& tmp = output.temp_path();
  autograd::NoGradGuard no_grad;
  {
    Id fapl(h5::aligned_file_access(), H5Pclose);
    Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
    if (!file.ok()) throw Error(str_cat(out_path, ": cannot create ", tmp));
    write_string_attr(file, "format", kFormat, out_path);
    write_int_attr(file, "schema_version", kSchemaVersion, out_path);
    write_string_attr(file, "asr_adapt_version", ASR_VERSION, out_path);
    write_string_attr(file, "source_file", base_name(model.path), out_path);
    write_string_attr(file, "model_config_yaml", model.config.yaml, out_path);
    write_int_attr(file, "num_weights", static_cast<int64_t>(model.weights.size()), out_path);
    write_dataset(file, "tokenizer_model", {static_cast<int64_t>(model.tokenizer_model.size())}, H5T_STD_U8LE,
                  model.tokenizer_model.data(), out_path);

    Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
    H5Pset_obj_track_times(gcpl, false);
    Id group(H5Gcreate2(file, "weights", H5P_DEFAULT, gcpl, H5P_DEFAULT), H5Gclose);
    if (!group.ok()) throw Error(str_cat(out_path, ": cannot create group /weights"));
    for (const auto& [key, tensor] : model.weights) {
      if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
        throw Error(str_cat(out_path, ": state-dict key '", key, "' cannot be an HDF5 dataset name"));
      Tensor t = tensor.to(Device::cpu());
      if (t.dtype() == DType::F16 || t.dtype() == DType::BF16) t = t.to(DType::F32);
      t = t.contiguous();
      Id ftype(file_type_for(t.dtype(), key, out_path), H5Tclose);
      write_dataset(group, key, t.shape(), ftype, t.numel() ? t.raw_data() : nullptr, out_path);
    }
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), out_path, "flush");
  }  // closes the file
  output.commit();
}

ModelFile load_model_h5(const std::string& path) {
  QuietHdf5 quiet;
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw Error(str_cat(path, ": cannot open as HDF5 (truncated or corrupt?)"));
  if (H5Aexists(file, "format") <= 0 || read_string_attr(file, "format", path) != kFormat)
    throw Error(str_cat(path, ": an HDF5 file, but not an asr-adapt checkpoint (no format attribute; ",
                        "import a .nemo with 'asr-adapt import')"));
  const int64_t version = read_int_attr(file, "schema_version", path);
  if (version != kSchemaVersion)
    throw Error(str_cat(path, ": checkpoint schema version ", version, " is not supported (this build reads ",
                        kSchemaVersion, ")"));
  ModelFile mf;
  mf.path = path;
  mf.config = parse_model_config(read_string_attr(file, "model_config_yaml", path), path + ":model_config_yaml");

  {
    Id ds(H5Dopen2(file, "tokenizer_model", H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) throw Error(str_cat(path, ": dataset 'tokenizer_model' is missing"));
    Shape s = dataset_shape(ds);
    if (s.size() != 1) throw Error(str_cat(path, ": 'tokenizer_model' is not a byte vector"));
    mf.tokenizer_model.resize(static_cast<size_t>(s[0]));
    if (s[0] > 0 && H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mf.tokenizer_model.data()) < 0)
      throw Error(str_cat(path, ": cannot read 'tokenizer_model' (truncated or corrupt file?)"));
  }

  if (H5Lexists(file, "weights", H5P_DEFAULT) <= 0) throw Error(str_cat(path, ": group /weights is missing"));
  Id group(H5Gopen2(file, "weights", H5P_DEFAULT), H5Gclose);
  const std::vector<std::string> names = member_names(group, path);

  std::shared_ptr<Mapping> map = map_file(path);
  for (const std::string& key : names) {
    Tensor t = load_weight(group, key, map, path);
    mf.weights.emplace(key, t.set_name(key));
  }
  check_weights(mf.config, mf.weights, path);
  return mf;
}

}  // namespace asr::io
