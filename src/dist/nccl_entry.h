#pragma once
// Link-time seam for the NCCL communicator: defined in src/backend/cuda/nccl_communicator.cpp
// when the CUDA backend is built, and in src/backend/cuda_absent.cpp otherwise (where it throws
// an error saying this build has no CUDA). No #ifdef needed anywhere.
#include <memory>

namespace asr::dist {

class Communicator;
struct CommunicatorOptions;

std::unique_ptr<Communicator> make_nccl_communicator(const CommunicatorOptions& options);

}  // namespace asr::dist
