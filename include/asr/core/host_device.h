#pragma once
// ASR_HOST_DEVICE marks small inline functions that the CPU backend and the CUDA kernels share
// verbatim (one definition of the maths, so the two backends cannot drift apart).
#if defined(__CUDACC__)
#define ASR_HOST_DEVICE __host__ __device__
#else
#define ASR_HOST_DEVICE
#endif
