// Compiled instead of src/backend/cuda/ when no CUDA toolkit was found at configure time.
#include "asr/backend/backend.h"
#include "../dist/nccl_entry.h"
#include "asr/dist/communicator.h"
#include "cuda_entry.h"

namespace asr {
Backend* cuda_backend_entry(int) { return nullptr; }
bool cuda_backend_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_build_info() { return "CUDA backend: not built (no CUDA toolkit at configure time)"; }
}  // namespace asr

namespace asr::dist {
std::unique_ptr<Communicator> make_nccl_communicator(const CommunicatorOptions&) {
  throw Error("communicator: backend 'nccl' needs the CUDA backend, but this asr-adapt was built "
              "without CUDA (no CUDA toolkit with NCCL at configure time); use backend 'mpi'");
}
}  // namespace asr::dist
