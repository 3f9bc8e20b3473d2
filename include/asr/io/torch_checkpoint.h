#pragma once
// torch.save's zip checkpoint (model_weights.ckpt inside a .nemo): <prefix>/data.pkl (a pickled
// OrderedDict of tensors, read by the restricted unpickler) plus one raw little-endian file per
// storage, <prefix>/data/<key>. Tensors come back as owned, contiguous CPU tensors; floating
// tensors are converted to F32 (model weights are F32), integer and bool tensors keep their type.
#include <string>

#include "asr/io/model_file.h"

namespace asr::io {

// `zip_bytes` is the whole checkpoint; `source` names it in errors (e.g. "m.nemo:model_weights.ckpt").
StateDict read_torch_state_dict(const std::string& zip_bytes, const std::string& source);

}  // namespace asr::io
