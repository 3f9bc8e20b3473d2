#pragma once
// RAII handles for the HDF5 C API, shared by every HDF5 reader and writer (model checkpoints,
// feature shards).
#include <hdf5.h>

#include <string>

#include "asr/core/error.h"

namespace asr::h5 {

// HDF5 prints its own error stack by default; we report through asr::Error instead.
class Quiet {
 public:
  Quiet() {
    H5Eget_auto2(H5E_DEFAULT, &fn_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Quiet() { H5Eset_auto2(H5E_DEFAULT, fn_, data_); }

 private:
  H5E_auto2_t fn_ = nullptr;
  void* data_ = nullptr;
};

// Closes an HDF5 id with the right function when it leaves scope.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() { reset(); }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  hid_t release() {  // the caller closes it (to check the status of H5Fclose, say)
    const hid_t id = id_;
    id_ = -1;
    return id;
  }
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

inline void check(herr_t rc, const std::string& path, const std::string& what) {
  if (rc < 0) throw Error(str_cat(path, ": HDF5 failed to ", what));
}

// True when `name` in `parent` is an ordinary (hard) link: soft and external links, which could
// lead to another object or another file on this machine, are refused by the readers.
inline bool is_hard_link(hid_t parent, const char* name) {
  if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return false;
  H5L_info_t info;
  return H5Lget_info(parent, name, &info, H5P_DEFAULT) >= 0 && info.type == H5L_TYPE_HARD;
}

// Refuses a dataset whose declared extent needs more bytes than the file stores for it (the
// deflate bound, ~1032x, when filters are on), so a tiny hostile file cannot make a reader
// allocate gigabytes for a [10^9, 10^9] dataset with no data. Call before allocating for a read.
inline void check_dataset_storage(hid_t ds, const std::string& path, const std::string& name) {
  constexpr hsize_t kMaxFilterRatio = 1100;
  Id space(H5Dget_space(ds), H5Sclose);
  Id type(H5Dget_type(ds), H5Tclose);
  Id create(H5Dget_create_plist(ds), H5Pclose);
  const hssize_t points = space.ok() ? H5Sget_simple_extent_npoints(space) : -1;
  const size_t type_size = type.ok() ? H5Tget_size(type) : 0;
  const int filters = create.ok() ? H5Pget_nfilters(create) : -1;
  if (points < 0 || type_size == 0 || filters < 0)
    throw Error(str_cat(path, ": dataset '", name, "' has an unreadable shape, type or layout"));
  // External raw-data files and virtual datasets would read other files on this machine.
  if (H5Pget_external_count(create) != 0 || H5Pget_layout(create) == H5D_VIRTUAL)
    throw Error(str_cat(path, ": dataset '", name, "' keeps its data in other files (external or virtual "
                        "storage): refused"));
  const hsize_t stored = H5Dget_storage_size(ds);
  const hsize_t limit = filters > 0 ? stored * kMaxFilterRatio : stored;
  hsize_t declared = 0;
  if (__builtin_mul_overflow(static_cast<hsize_t>(points), static_cast<hsize_t>(type_size), &declared) ||
      declared > limit)
    throw Error(str_cat(path, ": dataset '", name, "' declares ", points, " elements of ", type_size,
                        " bytes but the file stores only ", stored, " bytes for it (truncated or corrupt file?)"));
}

// Refuses a fixed-size string type that declares more than 1 MiB: an attribute's string size is a
// 32-bit field a damaged file can set to gigabytes, and the reader allocates it before reading.
inline void check_fixed_string_size(hid_t type, const std::string& path, const std::string& what) {
  constexpr size_t kMaxFixedStringBytes = size_t{1} << 20;
  const size_t size = H5Tget_size(type);
  if (size > kMaxFixedStringBytes)
    throw Error(str_cat(path, ": ", what, " declares a ", size, "-byte string (corrupt file?)"));
}

// A file-access property list that opens `image` (a whole HDF5 file's bytes, which must outlive
// the open file) read-only through the core driver: nothing touches the disk. The caller closes
// it with H5Pclose; -1 on failure.
inline hid_t file_image_access(const std::string& image) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return -1;
  if (H5Pset_fapl_core(fapl, 1 << 16, /*backing_store=*/0) < 0 ||
      H5Pset_file_image(fapl, const_cast<char*>(image.data()), image.size()) < 0) {
    H5Pclose(fapl);
    return -1;
  }
  return fapl;
}

}  // namespace asr::h5
