#pragma once
// Reads the PyTorch golden fixtures (tests/golden/*.h5, written by tools/make_golden.py) with
// the HDF5 C API, and compares our results with them.
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::golden {

// One dataset: its shape and values converted to double (float or integer on disk).
struct Array {
  Shape shape;
  std::vector<double> data;
  // As a new f32 tensor (our ops run in f32 against the f64 references).
  Tensor f32() const { return Tensor::from_vector(data, shape, DType::F32); }
  Tensor i64() const {
    return Tensor::from_vector(std::vector<int64_t>(data.begin(), data.end()), shape);
  }
};

class File {
 public:
  explicit File(const std::string& name) : path_(std::string(ASR_GOLDEN_DIR) + "/" + name) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // failures are reported as asr::Error below
    id_ = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id_ < 0) throw Error("golden: cannot open " + path_ + " (regenerate with tools/make_golden.py)");
  }
  ~File() { H5Fclose(id_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  Array read(const std::string& name) const {
    hid_t ds = H5Dopen2(id_, name.c_str(), H5P_DEFAULT);
    if (ds < 0) throw Error("golden: no dataset '" + name + "' in " + path_);
    hid_t sp = H5Dget_space(ds);
    const int nd = H5Sget_simple_extent_ndims(sp);
    std::vector<hsize_t> dims(static_cast<size_t>(nd > 0 ? nd : 0));
    if (nd > 0) H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
    Array a;
    for (hsize_t d : dims) a.shape.push_back(static_cast<int64_t>(d));
    a.data.resize(static_cast<size_t>(shape_numel(a.shape)));
    // HDF5 converts the stored type (f32, f64, i64) to native double.
    herr_t rc = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data.data());
    H5Sclose(sp);
    H5Dclose(ds);
    if (rc < 0) throw Error("golden: cannot read '" + name + "' in " + path_);
    return a;
  }

  // A numeric attribute of the object at `obj` ("/" for the file).
  double attr(const std::string& obj, const std::string& name) const {
    hid_t at = H5Aopen_by_name(id_, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0) throw Error("golden: no attribute " + obj + "@" + name + " in " + path_);
    double v = 0;
    herr_t rc = H5Aread(at, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(at);
    if (rc < 0) throw Error("golden: cannot read attribute " + obj + "@" + name);
    return v;
  }

  // The torch version that wrote the file (a variable-length string attribute).
  std::string torch_version() const {
    hid_t at = H5Aopen_by_name(id_, "/", "torch_version", H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0) return "unknown";
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char* s = nullptr;
    std::string out = "unknown";
    if (H5Aread(at, t, &s) >= 0 && s) {
      out = s;
      H5free_memory(s);
    }
    H5Tclose(t);
    H5Aclose(at);
    return out;
  }

 private:
  std::string path_;
  hid_t id_ = -1;
};

// Largest excess of |got - ref| over atol + rtol * |ref| (0 when within tolerance), with a
// description of the worst element for the failure message.
struct Closeness {
  double worst_excess = 0;
  double max_abs_err = 0;
  std::string detail;
};

inline Closeness compare(const Tensor& got, const Array& ref, double atol, double rtol) {
  Closeness c;
  if (got.shape() != ref.shape) {
    c.worst_excess = INFINITY;
    c.detail = "shape " + shape_str(got.shape()) + " vs reference " + shape_str(ref.shape);
    return c;
  }
  const std::vector<double> g = got.to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::fabs(g[i] - ref.data[i]);
    const double excess = std::isnan(err) ? INFINITY : err - (atol + rtol * std::fabs(ref.data[i]));
    c.max_abs_err = std::max(c.max_abs_err, std::isnan(err) ? INFINITY : err);
    if (excess > c.worst_excess) {
      c.worst_excess = excess;
      c.detail = "element " + std::to_string(i) + ": got " + std::to_string(g[i]) +
                 " vs reference " + std::to_string(ref.data[i]);
    }
  }
  return c;
}

}  // namespace asr::golden

// EXPECT_GOLDEN(got, ref_array, atol, rtol): got (our f32 tensor) matches the torch reference.
#define EXPECT_GOLDEN(got, ref, atol, rtol)                                              \
  do {                                                                                   \
    ::asr::golden::Closeness asr_gc__ = ::asr::golden::compare((got), (ref), atol, rtol); \
    EXPECT_LE(asr_gc__.worst_excess, 0.0)                                                \
        << #got << ": " << asr_gc__.detail << " (max |err| " << asr_gc__.max_abs_err << ")"; \
  } while (0)
