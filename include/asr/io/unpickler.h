#pragma once
// A restricted reader for the pickles torch.save writes (data.pkl inside a torch zip checkpoint).
// It never executes anything: the only globals it knows are collections.OrderedDict, the torch
// tensor/parameter rebuild functions and the torch.*Storage types, and each is interpreted by
// this code, not called. Any other global is refused with an asr::Error naming the source.
// A caller may widen this with UnpickleOptions (e.g. NeMo's save_adapters file, whose '__cfg__'
// is a pickled OmegaConf DictConfig): named classes then become inert records (Kind::Object).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "asr/core/dtype.h"

namespace asr::io {

// A persistent-id storage reference: ('storage', torch.FloatStorage, key, location, numel).
struct PickledStorage {
  DType dtype = DType::F32;
  std::string key;       // the file <prefix>/data/<key> in the zip
  std::string location;  // "cpu", "cuda:0", ... (ignored: everything loads to the CPU)
  int64_t numel = 0;     // elements in the storage
};

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta]).
struct PickledTensor {
  std::shared_ptr<const PickledStorage> storage;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> size, stride;
  bool requires_grad = false;
};

struct PickleValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor, Object };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // String/Bytes; Global and Object: "module.name" of the class
  std::vector<std::shared_ptr<PickleValue>> items;  // Tuple/List; Object: constructor arguments
  // Dict, in order; Object: its BUILD state (the instance __dict__), if any.
  std::vector<std::pair<std::shared_ptr<PickleValue>, std::shared_ptr<PickleValue>>> dict;
  std::shared_ptr<const PickledStorage> storage;
  PickledTensor tensor;

  const char* kind_name() const;

  PickleValue() = default;
  PickleValue(const PickleValue&) = default;
  PickleValue& operator=(const PickleValue&) = default;
  ~PickleValue();  // iterative: a hostile, deeply nested pickle must not overflow the stack
};
using PickleValuePtr = std::shared_ptr<PickleValue>;

// Globals a caller accepts beyond the tensor allow-list. Nothing is ever constructed or called:
// a record class "called" (REDUCE/NEWOBJ) gives a Kind::Object holding its arguments, and BUILD
// stores the state dict in it; a value global may appear only as a value (e.g. typing.Any).
struct UnpickleOptions {
  std::vector<std::string> record_classes;  // exact "module.name"
  std::vector<std::string> value_prefixes;  // "module.name" starting with one of these
};

// Decodes `bytes` (protocols 2-5 as torch.save writes them). `source` names the file in errors.
// Reference cycles (an object reachable from itself, e.g. an OmegaConf node's _parent) are cut:
// the edge that closes a cycle is replaced by None, so the result is a DAG that frees itself.
PickleValuePtr unpickle(const std::string& bytes, const std::string& source);
PickleValuePtr unpickle(const std::string& bytes, const std::string& source, const UnpickleOptions& extra);

}  // namespace asr::io
