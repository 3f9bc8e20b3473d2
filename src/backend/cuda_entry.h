#pragma once
// Link-time seam between the core and the CUDA backend: defined in src/backend/cuda/ when the
// CUDA backend is built, and in cuda_absent.cpp otherwise. No #ifdef needed anywhere.
namespace asr {
class Backend;
// The backend of CUDA device `index`, or nullptr when there is no such device.
Backend* cuda_backend_entry(int index);
}  // namespace asr
