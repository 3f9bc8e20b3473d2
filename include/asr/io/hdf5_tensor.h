#pragma once
// Tensors and scalar attributes in HDF5, plus the durable-write helpers (fsync, atomic rename)
// shared by every asr-adapt HDF5 writer: model checkpoints, adapter files, training state.
#include <hdf5.h>

#include <string>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::h5 {

// h5py's representation of numpy bool (an int8 enum FALSE/TRUE); the caller closes it.
hid_t bool_type();
// File and memory HDF5 types for a dtype (f32, f64, i64, i32, bool); the caller closes them.
hid_t file_type_for(DType t, const std::string& key, const std::string& path);
hid_t mem_type_for(DType t);

void write_string_attr(hid_t obj, const char* name, const std::string& value, const std::string& path);
void write_int_attr(hid_t obj, const char* name, int64_t value, const std::string& path);
void write_double_attr(hid_t obj, const char* name, double value, const std::string& path);
bool has_attr(hid_t obj, const char* name);
std::string read_string_attr(hid_t obj, const char* name, const std::string& path);
int64_t read_int_attr(hid_t obj, const char* name, const std::string& path);
double read_double_attr(hid_t obj, const char* name, const std::string& path);

// A contiguous, uncompressed dataset (64-byte aligned by the file's access list, no timestamps so
// identical inputs give identical bytes).
void write_dataset(hid_t parent, const std::string& name, const Shape& shape, hid_t type, const void* data,
                   const std::string& path);
// A CPU tensor of any supported dtype (made contiguous first).
void write_tensor(hid_t parent, const std::string& name, const Tensor& t, const std::string& path);
Shape dataset_shape(hid_t ds);
// The dtype a dataset holds; `exact` is false when HDF5 must convert on read.
DType dataset_dtype(hid_t type, bool& exact);
// Reads a dataset into a new, writable CPU tensor. Errors name the file and key.
Tensor read_tensor(hid_t parent, const std::string& name, const std::string& path);

// The names of a group's members, in name order.
std::vector<std::string> member_names(hid_t group, const std::string& path);

// fsync a file or directory; throws naming it.
void fsync_path(const std::string& p, bool directory);
// fsyncs `tmp`, renames it over `final_path` and fsyncs the parent directory: after a crash either
// the old or the new file is there, complete.
void commit_file(const std::string& tmp, const std::string& final_path);
// Writes a file under a temporary name next to `final_path`; commit() moves it into place
// (commit_file); destroyed without commit() (an error on the way), it removes the temporary file.
class AtomicFileWrite {
 public:
  explicit AtomicFileWrite(std::string final_path);
  ~AtomicFileWrite();
  AtomicFileWrite(const AtomicFileWrite&) = delete;
  AtomicFileWrite& operator=(const AtomicFileWrite&) = delete;
  const std::string& temp_path() const { return tmp_; }
  void commit();

 private:
  std::string final_, tmp_;
  bool done_ = false;
};

// The file access list writers use: latest format, 64-byte alignment for mmap-able datasets.
hid_t aligned_file_access();

}  // namespace asr::h5
