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

}  // namespace asr::h5
