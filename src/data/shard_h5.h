#pragma once
// Small HDF5 helpers shared by the shard writer and the shard checker (C API, RAII ids).
#include <hdf5.h>

#include <string>
#include <vector>

#include "asr/core/error.h"
#include "asr/io/hdf5_handles.h"

namespace asr::data::h5 {

using ::asr::h5::check;
using ::asr::h5::Id;
using ::asr::h5::Quiet;


// IEEE binary16, little-endian: the layout h5py and numpy read as float16.
inline hid_t f16_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return t;
}

inline hid_t utf8_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

}  // namespace asr::data::h5
