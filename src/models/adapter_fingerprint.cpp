// base_model_fingerprint: XXH64 over the frozen base weights, so an adapter file can refuse a base
// model other than the one it was trained on. Keys are hashed in sorted order with their dtype and
// shape, so a .nemo and its imported .h5 (same f32 bytes, same keys) give the same digest.
#include <cstring>

#include "../data/hash64.h"
#include "asr/autograd/node.h"
#include "asr/models/adapter_file.h"

namespace asr::models {
namespace {

// Adapters and the preprocessor (the FeatureExtractor's filterbank/window) are not the base model.
bool is_base_key(const std::string& key) {
  return key.rfind("preprocessor.", 0) != 0 && key.rfind("adapter_layer.", 0) != 0 &&
         key.find(".adapter_layer.") == std::string::npos;
}

void hash_u64(data::detail::Hash64& h, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));  // little-endian
  h.update(b, sizeof b);
}

void hash_entry(data::detail::Hash64& h, const std::string& key, const Tensor& tensor) {
  // Length-prefixed fields: no two different (key, dtype, shape) sequences hash the same bytes.
  hash_u64(h, key.size());
  h.update(key);
  const std::string dt = dtype_name(tensor.dtype());
  hash_u64(h, dt.size());
  h.update(dt);
  hash_u64(h, tensor.shape().size());
  for (int64_t d : tensor.shape()) hash_u64(h, static_cast<uint64_t>(d));
  Tensor t = tensor.device() == Device::cpu() ? tensor : tensor.to(Device::cpu());
  t = t.contiguous();
  hash_u64(h, t.nbytes());
  if (t.nbytes() > 0) h.update(t.raw_data(), t.nbytes());
}

}  // namespace

std::string base_model_fingerprint(const io::StateDict& weights) {
  autograd::NoGradGuard no_grad;
  data::detail::Hash64 h;
  for (const auto& [key, tensor] : weights)  // std::map: sorted by key
    if (is_base_key(key)) hash_entry(h, key, tensor);
  return data::detail::format_digest(h.digest());
}

std::string base_model_fingerprint(const ConformerCtcModel& model) {
  io::StateDict state;
  for (auto& [key, tensor] : model.named_state()) state.emplace(key, tensor);
  return base_model_fingerprint(state);
}

}  // namespace asr::models
