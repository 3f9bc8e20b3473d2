#pragma once
// Writes torch.save's zip checkpoint format (docs/checkpoint-format.md, "Writing torch
// checkpoints"): <archive>/data.pkl (pickle protocol 2) with one <archive>/data/<n> raw
// little-endian storage per tensor, plus byteorder, version and torch's format records. Members
// are stored uncompressed with their data 64-byte aligned (torch pads the local header's extra
// field with an "FB" record), so torch.load(weights_only=True), torch.load(mmap=True) and
// io::read_torch_state_dict all read it. The pickle writer knows only the value kinds below.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "asr/core/tensor.h"
#include "asr/io/model_file.h"

namespace asr::io {

// A value torch.save can pickle here: the plain containers and scalars NeMo's files use, and
// CPU tensors (any dtype the reader knows: f32, f64, f16, bf16, i64, i32, bool).
struct TorchValue {
  enum class Kind { None, Bool, Int, Float, String, List, Dict, OrderedDict, Tensor };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<TorchValue> items;                         // List
  std::vector<std::pair<std::string, TorchValue>> dict;  // Dict / OrderedDict, in order
  Tensor tensor;

  static TorchValue none() { return TorchValue{}; }
  static TorchValue boolean(bool v);
  static TorchValue integer(int64_t v);
  static TorchValue real(double v);
  static TorchValue string(std::string v);
  static TorchValue list(std::vector<TorchValue> v = {});
  static TorchValue plain_dict();    // a Python dict
  static TorchValue ordered_dict();  // collections.OrderedDict (what state_dict() returns)
  static TorchValue of(const Tensor& t);
  // Appends to a (ordered) dict; a repeated key throws.
  TorchValue& set(const std::string& key, TorchValue v);
};

// The pickle alone (protocol 2): tensors become persistent ids ('storage', torch.<T>Storage,
// "<n>", "cpu", numel) numbered in the order they are met; `storages` receives their bytes.
std::string pickle_torch_value(const TorchValue& root, std::vector<Tensor>* storages);

// The whole checkpoint. `archive_name` is the folder inside the zip (torch uses the file stem).
void write_torch_zip(std::ostream& out, const TorchValue& root, const std::string& archive_name = "archive");
std::string torch_zip_bytes(const TorchValue& root, const std::string& archive_name = "archive");

// torch.save(state_dict): an OrderedDict of key -> tensor, in key order.
std::string torch_state_dict_bytes(const StateDict& weights, const std::string& archive_name = "archive");

// Creates `path` atomically: `write` fills <path>.tmp-<pid>, which is fsync'ed and renamed over
// `path`, then the folder is fsync'ed. On any failure (an exception from `write` included) the
// temporary file is removed and `path` is left as it was. Shared by the .pt and .nemo writers.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace asr::io
