#include "asr/core/device.h"

namespace asr {
std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}
}  // namespace asr
