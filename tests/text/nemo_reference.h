#pragma once
// Reads NeMo's reference fixtures (tests/fixtures/nemo/<model>_reference.h5, written by
// tools/make_nemo_fixtures.py) and the tokenizer inside the .nemo, without the io layer, so the
// text-side parity tests stand on their own.
#include <archive.h>
#include <archive_entry.h>
#include <hdf5.h>

#include <filesystem>
#include <string>
#include <vector>

#include "asr/core/error.h"
#include "asr/core/tensor.h"

namespace asr::testing {

inline std::string nemo_fixture(const std::string& name) {
  return std::string(ASR_FIXTURE_DIR) + "/nemo/" + name;
}

class ReferenceH5 {
 public:
  explicit ReferenceH5(const std::string& path) : path_(path) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    id_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id_ < 0) throw Error("cannot open " + path);
  }
  ~ReferenceH5() { H5Fclose(id_); }
  ReferenceH5(const ReferenceH5&) = delete;
  ReferenceH5& operator=(const ReferenceH5&) = delete;

  bool has(const std::string& name) const { return H5Lexists(id_, name.c_str(), H5P_DEFAULT) > 0; }

  // A numeric dataset as a tensor of `dtype` (values converted by HDF5 through double).
  Tensor tensor(const std::string& name, DType dtype = DType::F32) const {
    Shape shape;
    std::vector<double> v = read<double>(name, H5T_NATIVE_DOUBLE, shape);
    return Tensor::from_vector(v, shape, dtype);
  }
  std::vector<int64_t> ints(const std::string& name) const {
    Shape shape;
    std::vector<double> v = read<double>(name, H5T_NATIVE_DOUBLE, shape);
    return {v.begin(), v.end()};
  }
  // A uint8 dataset holding UTF-8 text (NeMo's transcripts are stored that way).
  std::string utf8(const std::string& name) const {
    Shape shape;
    std::vector<unsigned char> v = read<unsigned char>(name, H5T_NATIVE_UCHAR, shape);
    return {v.begin(), v.end()};
  }
  // A variable-length string attribute of `obj`.
  std::string attr_string(const std::string& obj, const std::string& name) const {
    hid_t at = H5Aopen_by_name(id_, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0) throw Error("no attribute " + obj + "@" + name + " in " + path_);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char* s = nullptr;
    std::string out;
    const bool ok = H5Aread(at, t, &s) >= 0 && s;
    if (ok) out = s;
    if (s) H5free_memory(s);
    H5Tclose(t);
    H5Aclose(at);
    if (!ok) throw Error("cannot read attribute " + obj + "@" + name + " in " + path_);
    return out;
  }

 private:
  template <typename T>
  std::vector<T> read(const std::string& name, hid_t mem_type, Shape& shape) const {
    hid_t ds = H5Dopen2(id_, name.c_str(), H5P_DEFAULT);
    if (ds < 0) throw Error("no dataset '" + name + "' in " + path_);
    hid_t sp = H5Dget_space(ds);
    const int nd = H5Sget_simple_extent_ndims(sp);
    std::vector<hsize_t> dims(static_cast<size_t>(nd > 0 ? nd : 0));
    if (nd > 0) H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
    shape.clear();
    for (hsize_t d : dims) shape.push_back(static_cast<int64_t>(d));
    std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
    herr_t rc = v.empty() ? 0 : H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Sclose(sp);
    H5Dclose(ds);
    if (rc < 0) throw Error("cannot read '" + name + "' in " + path_);
    return v;
  }

  std::string path_;
  hid_t id_ = -1;
};

// The bytes of the first archive member whose name ends with `suffix`.
inline std::string nemo_member(const std::string& nemo_path, const std::string& suffix) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, nemo_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    archive_read_free(a);
    throw Error("cannot open " + nemo_path);
  }
  archive_entry* e = nullptr;
  std::string out;
  bool found = false;
  while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const std::string name = archive_entry_pathname(e);
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    found = n == 0;
  }
  archive_read_free(a);
  if (!found) throw Error("no member *" + suffix + " in " + nemo_path);
  return out;
}

}  // namespace asr::testing
