// CTC loss in log space, one block per utterance: the threads share the 2S+1 states of the
// extended label sequence l' = (blank, l1, blank, ..., lS, blank) and step through time with a
// __syncthreads per step. Same recursions, double precision and -inf conventions as
// src/backend/cpu/cpu_ctc.cpp (see there for the maths); the per-label occupancy sums of the
// backward pass add states in increasing s, exactly the CPU's order. No atomics: deterministic.
#include <cmath>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

__device__ __forceinline__ double lse2(double a, double b) {
  if (a < b) {
    const double t = a;
    a = b;
    b = t;
  }
  if (a == -INFINITY) return -INFINITY;
  return a + log1p(exp(b - a));
}

// l'_s for the targets tg of one utterance.
__device__ __forceinline__ int64_t ext_label(const int64_t* tg, int64_t s, int64_t blank) {
  return (s & 1) ? tg[(s - 1) / 2] : blank;
}

// Whether the transition s-2 -> s is allowed (onto a label differing from the previous one).
__device__ __forceinline__ bool ext_skip(const int64_t* tg, int64_t s) {
  return (s & 1) && s >= 3 && tg[(s - 1) / 2] != tg[(s - 3) / 2];
}

// scratch: [B, 2, W] doubles (two alpha rows per utterance).
template <typename T>
__global__ void ctc_forward_kernel(const T* lp, const int64_t* targets, const int64_t* il,
                                   const int64_t* tl, int64_t blank, int64_t B, int64_t Tm,
                                   int64_t V, int64_t S, T* nll, T* log_alpha, double* scratch) {
  const int64_t W = 2 * S + 1;
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
    const int64_t Tb = il[b], n = 2 * tl[b] + 1;
    const int64_t* tg = targets + b * S;
    const T* lpb = lp + b * Tm * V;
    T* la = log_alpha + b * Tm * W;
    for (int64_t i = threadIdx.x; i < Tm * W; i += blockDim.x) la[i] = static_cast<T>(-INFINITY);
    __syncthreads();
    if (Tb == 0) {  // nothing to emit: only the empty target is possible (probability 1)
      if (threadIdx.x == 0) nll[b] = static_cast<T>(n == 1 ? 0.0 : INFINITY);
      continue;  // uniform across the block
    }
    double* prev = scratch + b * 2 * W;
    double* cur = prev + W;
    for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
      const double v = s < 2 ? static_cast<double>(lpb[ext_label(tg, s, blank)]) : -INFINITY;
      prev[s] = v;
      if (s < 2) la[s] = static_cast<T>(v);
    }
    __syncthreads();
    for (int64_t t = 1; t < Tb; ++t) {
      const T* lpt = lpb + t * V;
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
        double a = prev[s];
        if (s >= 1) a = lse2(a, prev[s - 1]);
        if (ext_skip(tg, s)) a = lse2(a, prev[s - 2]);
        const double c = a == -INFINITY ? -INFINITY : a + lpt[ext_label(tg, s, blank)];
        cur[s] = c;
        la[t * W + s] = static_cast<T>(c);
      }
      __syncthreads();
      double* tmp = prev;
      prev = cur;
      cur = tmp;
    }
    if (threadIdx.x == 0) {
      const double ll = n > 1 ? lse2(prev[n - 1], prev[n - 2]) : prev[0];
      nll[b] = static_cast<T>(-ll);
    }
    __syncthreads();
  }
}

// scratch: [B, 3, W] doubles (beta, next beta, per-state occupancy).
template <typename T>
__global__ void ctc_backward_kernel(const T* grad_nll, const T* lp, const int64_t* targets,
                                    const int64_t* il, const int64_t* tl, int64_t blank, int64_t B,
                                    int64_t Tm, int64_t V, int64_t S, const T* nll,
                                    const T* log_alpha, T* grad, double* scratch) {
  const int64_t W = 2 * S + 1;
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
    T* g = grad + b * Tm * V;
    for (int64_t i = threadIdx.x; i < Tm * V; i += blockDim.x) g[i] = T(0);
    __syncthreads();
    const int64_t Tb = il[b];
    const double gn = grad_nll[b];
    // A zero upstream gradient (zero_infinity on an infeasible utterance) gives exactly zero,
    // never 0 * NaN from an infinite nll.
    if (gn == 0.0 || Tb == 0) continue;  // uniform across the block
    const int64_t n = 2 * tl[b] + 1;
    const int64_t* tg = targets + b * S;
    const T* lpb = lp + b * Tm * V;
    const T* la = log_alpha + b * Tm * W;
    const double nl = nll[b];
    double* beta = scratch + b * 3 * W;
    double* nxt = beta + W;
    double* occ = nxt + W;
    // At t = Tb-1 only the last two states can end the path.
    for (int64_t s = threadIdx.x; s < n; s += blockDim.x)
      beta[s] = (s == n - 1 || (n > 1 && s == n - 2)) ? 0.0 : -INFINITY;
    __syncthreads();
    for (int64_t t = Tb - 1; t >= 0; --t) {
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
        const double a = la[t * W + s];
        occ[s] = (a == -INFINITY || beta[s] == -INFINITY) ? 0.0 : exp(a + beta[s] + nl);
      }
      __syncthreads();
      // Per-label sums in increasing s: state 0's thread sums the blanks (even s); the thread of
      // the first odd state carrying a label sums every odd state with that label.
      T* gt = g + t * V;
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
        if (s == 0) {
          double o = 0.0;
          for (int64_t s2 = 0; s2 < n; s2 += 2) o += occ[s2];
          if (o != 0.0) gt[blank] = static_cast<T>(-gn * o);
        } else if (s & 1) {
          const int64_t lab = tg[(s - 1) / 2];
          bool first = true;
          for (int64_t s2 = 1; s2 < s; s2 += 2)
            if (tg[(s2 - 1) / 2] == lab) { first = false; break; }
          if (first) {
            double o = 0.0;
            for (int64_t s2 = s; s2 < n; s2 += 2)
              if (tg[(s2 - 1) / 2] == lab) o += occ[s2];
            if (o != 0.0) gt[lab] = static_cast<T>(-gn * o);
          }
        }
      }
      if (t > 0) {
        // beta at t-1: state s moves to s, s+1, or s+2 (skip allowed into s+2), emitting at t.
        const T* lpt = lpb + t * V;
        for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
          double v = beta[s] == -INFINITY ? -INFINITY : beta[s] + lpt[ext_label(tg, s, blank)];
          if (s + 1 < n) {
            const double u = beta[s + 1] == -INFINITY
                                 ? -INFINITY
                                 : beta[s + 1] + lpt[ext_label(tg, s + 1, blank)];
            v = lse2(v, u);
          }
          if (s + 2 < n && ext_skip(tg, s + 2)) {
            const double u = beta[s + 2] == -INFINITY
                                 ? -INFINITY
                                 : beta[s + 2] + lpt[ext_label(tg, s + 2, blank)];
            v = lse2(v, u);
          }
          nxt[s] = v;
        }
      }
      __syncthreads();
      double* tmp = beta;
      beta = nxt;
      nxt = tmp;
    }
  }
}

// An integer tensor as contiguous I64 on `device` (lengths arrive on the CPU by contract).
Tensor i64_on(const Tensor& t, int device) {
  Tensor r = t.to(DType::I64).contiguous();
  if (r.device() != Device::cuda(device)) r = r.to(Device::cuda(device));
  return r;
}

struct CtcDims {
  int64_t B, Tm, V, S;
};

CtcDims ctc_dims(const char* op, const Tensor& lp, const Tensor& targets, const Tensor& il,
                 const Tensor& tl) {
  ASR_CHECK(lp.dim() == 3 && targets.dim() == 2 && targets.shape()[0] == lp.shape()[0] &&
                il.numel() == lp.shape()[0] && tl.numel() == lp.shape()[0],
            op, "bad shapes: log_probs ", lp.describe(), ", targets ", targets.describe(),
            ", lengths ", il.describe(), " and ", tl.describe());
  return {lp.shape()[0], lp.shape()[1], lp.shape()[2], targets.shape()[1]};
}

}  // namespace

void CudaBackend::ctc_loss(const Tensor& log_probs_c, const Tensor& targets,
                           const Tensor& input_lengths, const Tensor& target_lengths,
                           int64_t blank, Tensor& nll, Tensor& log_alpha) {
  const CtcDims d = ctc_dims("ctc_loss", log_probs_c, targets, input_lengths, target_lengths);
  if (d.B == 0) return;
  DeviceGuard guard(device_);
  const Tensor tg = i64_on(targets, device_), il = i64_on(input_lengths, device_),
               tl = i64_on(target_lengths, device_);
  const int64_t W = 2 * d.S + 1;
  Tensor scratch = Tensor::empty({d.B, 2, W}, DType::F64, Device::cuda(device_));
  dispatch_float(log_probs_c.dtype(), "ctc_loss", [&](auto tag) {
    using T = decltype(tag);
    ctc_forward_kernel<T><<<blocks_for(d.B, 1), kThreads>>>(
        log_probs_c.data<T>(), tg.data<int64_t>(), il.data<int64_t>(), tl.data<int64_t>(), blank,
        d.B, d.Tm, d.V, d.S, nll.data<T>(), log_alpha.data<T>(), scratch.data<double>());
    CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::ctc_loss_backward(const Tensor& grad_nll, const Tensor& log_probs_c,
                                    const Tensor& targets, const Tensor& input_lengths,
                                    const Tensor& target_lengths, int64_t blank,
                                    const Tensor& nll, const Tensor& log_alpha,
                                    Tensor& grad_log_probs) {
  const CtcDims d =
      ctc_dims("ctc_loss_backward", log_probs_c, targets, input_lengths, target_lengths);
  if (d.B == 0) return;
  DeviceGuard guard(device_);
  const Tensor tg = i64_on(targets, device_), il = i64_on(input_lengths, device_),
               tl = i64_on(target_lengths, device_);
  const int64_t W = 2 * d.S + 1;
  Tensor scratch = Tensor::empty({d.B, 3, W}, DType::F64, Device::cuda(device_));
  dispatch_float(log_probs_c.dtype(), "ctc_loss_backward", [&](auto tag) {
    using T = decltype(tag);
    ctc_backward_kernel<T><<<blocks_for(d.B, 1), kThreads>>>(
        grad_nll.data<T>(), log_probs_c.data<T>(), tg.data<int64_t>(), il.data<int64_t>(),
        tl.data<int64_t>(), blank, d.B, d.Tm, d.V, d.S, nll.data<T>(), log_alpha.data<T>(),
        grad_log_probs.data<T>(), scratch.data<double>());
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
