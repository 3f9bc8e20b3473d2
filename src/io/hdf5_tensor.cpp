// Tensors and attributes in HDF5 and durable writes, shared by every asr-adapt HDF5 writer.
#include "asr/io/hdf5_tensor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>
#include <cstring>
#include <vector>

#include "asr/autograd/node.h"
#include "asr/io/hdf5_handles.h"

namespace asr::h5 {

hid_t bool_type() {  // h5py's representation of numpy bool
  hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert(t, "FALSE", &v);
  v = 1;
  H5Tenum_insert(t, "TRUE", &v);
  return t;
}

void write_string_attr(hid_t obj, const char* name, const std::string& value, const std::string& path) {
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* p = value.c_str();
  if (!attr.ok() || H5Awrite(attr, type, &p) < 0) throw Error(str_cat(path, ": cannot write attribute ", name));
}

void write_int_attr(hid_t obj, const char* name, int64_t value, const std::string& path) {
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attr(H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || H5Awrite(attr, H5T_NATIVE_INT64, &value) < 0)
    throw Error(str_cat(path, ": cannot write attribute ", name));
}

void write_dataset(hid_t parent, const std::string& name, const Shape& shape, hid_t type, const void* data,
                   const std::string& path) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Id space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
           H5Sclose);
  Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_layout(dcpl, H5D_CONTIGUOUS);
  H5Pset_obj_track_times(dcpl, false);  // byte-identical files for identical inputs
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  Id ds(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(str_cat(path, ": cannot create dataset '", name, "'"));
  if (shape_numel(shape) > 0) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, "write '" + name + "'");
}

hid_t file_type_for(DType t, const std::string& key, const std::string& path) {
  switch (t) {
    case DType::F32: return H5Tcopy(H5T_IEEE_F32LE);
    case DType::F64: return H5Tcopy(H5T_IEEE_F64LE);
    case DType::I64: return H5Tcopy(H5T_STD_I64LE);
    case DType::I32: return H5Tcopy(H5T_STD_I32LE);
    case DType::Bool: return bool_type();
    default: throw Error(str_cat(path, ": cannot store '", key, "' of type ", dtype_name(t)));
  }
}

void fsync_path(const std::string& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw Error(str_cat(p, ": cannot open for fsync (", std::strerror(errno), ")"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(str_cat(p, ": fsync failed (", std::strerror(errno), ")"));
}

std::string read_string_attr(hid_t obj, const char* name, const std::string& path) {
  if (H5Aexists(obj, name) <= 0) throw Error(str_cat(path, ": attribute '", name, "' is missing"));
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Id ftype(H5Aget_type(attr), H5Tclose);
  if (H5Tget_class(ftype) != H5T_STRING) throw Error(str_cat(path, ": attribute '", name, "' is not a string"));
  std::string out;
  if (H5Tis_variable_str(ftype) > 0) {
    Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5Tget_cset(ftype));
    char* s = nullptr;
    check(H5Aread(attr, type, &s), path, str_cat("read attribute '", name, "'"));
    if (s) out = s;
    H5free_memory(s);
  } else {
    check_fixed_string_size(ftype, path, str_cat("attribute '", name, "'"));
    std::vector<char> buf(H5Tget_size(ftype) + 1, '\0');
    Id type(H5Tcopy(ftype), H5Tclose);
    check(H5Aread(attr, type, buf.data()), path, str_cat("read attribute '", name, "'"));
    out = std::string(buf.data());
  }
  return out;
}

int64_t read_int_attr(hid_t obj, const char* name, const std::string& path) {
  if (H5Aexists(obj, name) <= 0) throw Error(str_cat(path, ": attribute '", name, "' is missing"));
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  int64_t v = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &v), path, str_cat("read attribute '", name, "'"));
  return v;
}

Shape dataset_shape(hid_t ds) {
  Id space(H5Dget_space(ds), H5Sclose);
  int nd = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(nd, 0)));
  if (nd > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

// The dtype a dataset is stored as, if it is one we can map as-is; `exact` is false when HDF5
// must convert (another byte order or width), then the loader reads instead of mapping.
DType dataset_dtype(hid_t type, bool& exact) {
  exact = true;
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      if (H5Tequal(type, H5T_IEEE_F32LE) > 0) return DType::F32;
      if (H5Tequal(type, H5T_IEEE_F64LE) > 0) return DType::F64;
      exact = false;
      return DType::F32;
    case H5T_INTEGER:
      if (H5Tequal(type, H5T_STD_I64LE) > 0) return DType::I64;
      if (H5Tequal(type, H5T_STD_I32LE) > 0) return DType::I32;
      exact = false;
      return DType::I64;
    case H5T_ENUM: {
      Id base(H5Tget_super(type), H5Tclose);
      if (H5Tget_size(type) == 1 && H5Tget_nmembers(type) == 2) return DType::Bool;
      break;
    }
    default:
      break;
  }
  throw Error("unsupported HDF5 datatype");
}

hid_t mem_type_for(DType t) {
  switch (t) {
    case DType::F32: return H5Tcopy(H5T_NATIVE_FLOAT);
    case DType::F64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case DType::I64: return H5Tcopy(H5T_NATIVE_INT64);
    case DType::I32: return H5Tcopy(H5T_NATIVE_INT32);
    default: return bool_type();
  }
}

void write_double_attr(hid_t obj, const char* name, double value, const std::string& path) {
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attr(H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || H5Awrite(attr, H5T_NATIVE_DOUBLE, &value) < 0)
    throw Error(str_cat(path, ": cannot write attribute ", name));
}

double read_double_attr(hid_t obj, const char* name, const std::string& path) {
  if (H5Aexists(obj, name) <= 0) throw Error(str_cat(path, ": attribute '", name, "' is missing"));
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  double v = 0;
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, &v), path, str_cat("read attribute '", name, "'"));
  return v;
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

void write_tensor(hid_t parent, const std::string& name, const Tensor& tensor, const std::string& path) {
  autograd::NoGradGuard no_grad;
  Tensor t = tensor.to(Device::cpu());
  if (t.dtype() == DType::F16 || t.dtype() == DType::BF16) t = t.to(DType::F32);
  t = t.contiguous();
  Id ftype(file_type_for(t.dtype(), name, path), H5Tclose);
  write_dataset(parent, name, t.shape(), ftype, t.numel() ? t.raw_data() : nullptr, path);
}

Tensor read_tensor(hid_t parent, const std::string& name, const std::string& path) {
  if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0 && !is_hard_link(parent, name.c_str()))
    throw Error(str_cat(path, ": dataset '", name, "' is a soft or external link: refused"));
  Id ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(str_cat(path, ": dataset '", name, "' is missing"));
  Id type(H5Dget_type(ds), H5Tclose);
  bool exact = true;
  DType dt;
  try {
    dt = dataset_dtype(type, exact);
  } catch (const Error&) {
    throw Error(str_cat(path, ": dataset '", name, "' has an unsupported HDF5 datatype"));
  }
  check_dataset_storage(ds, path, name);
  Tensor t = Tensor::empty(dataset_shape(ds), dt);
  if (t.numel() == 0) return t;
  Id mtype(mem_type_for(dt), H5Tclose);
  if (H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw_data()) < 0)
    throw Error(str_cat(path, ": cannot read dataset '", name, "' (truncated or corrupt file?)"));
  return t;
}

namespace {
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> member_names(hid_t group, const std::string& path) {
  std::vector<std::string> names;
  check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names), path, "list a group");
  return names;
}

void commit_file(const std::string& tmp, const std::string& final_path) {
  fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0)
    throw Error(str_cat(final_path, ": cannot rename ", tmp, " into place (", std::strerror(errno), ")"));
  const size_t slash = final_path.find_last_of('/');
  fsync_path(slash == std::string::npos ? "." : (slash == 0 ? "/" : final_path.substr(0, slash)), true);
}

AtomicFileWrite::AtomicFileWrite(std::string final_path)
    : final_(std::move(final_path)), tmp_(str_cat(final_, ".tmp-", ::getpid())) {}

AtomicFileWrite::~AtomicFileWrite() {
  if (!done_) std::remove(tmp_.c_str());
}

void AtomicFileWrite::commit() {
  commit_file(tmp_, final_);
  done_ = true;
}

hid_t aligned_file_access() {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_alignment(fapl, 1, 64);  // every object 64-byte aligned: mapped tensors are SIMD-friendly
  return fapl;
}

}  // namespace asr::h5
