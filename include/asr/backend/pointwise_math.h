#pragma once
// The pointwise maths of UnaryOp / BinaryOp, shared verbatim by the CPU kernels and the CUDA
// kernels (ASR_HOST_DEVICE), so the two backends compute the same formulas.
#include <math.h>

#include "asr/backend/backend.h"
#include "asr/core/host_device.h"

namespace asr::pointwise {

// Precise libm functions (never fast intrinsics), overloaded for float and double.
ASR_HOST_DEVICE inline float m_exp(float x) { return ::expf(x); }
ASR_HOST_DEVICE inline double m_exp(double x) { return ::exp(x); }
ASR_HOST_DEVICE inline float m_log(float x) { return ::logf(x); }
ASR_HOST_DEVICE inline double m_log(double x) { return ::log(x); }
ASR_HOST_DEVICE inline float m_sqrt(float x) { return ::sqrtf(x); }
ASR_HOST_DEVICE inline double m_sqrt(double x) { return ::sqrt(x); }
ASR_HOST_DEVICE inline float m_abs(float x) { return ::fabsf(x); }
ASR_HOST_DEVICE inline double m_abs(double x) { return ::fabs(x); }
ASR_HOST_DEVICE inline float m_tanh(float x) { return ::tanhf(x); }
ASR_HOST_DEVICE inline double m_tanh(double x) { return ::tanh(x); }
ASR_HOST_DEVICE inline float m_erf(float x) { return ::erff(x); }
ASR_HOST_DEVICE inline double m_erf(double x) { return ::erf(x); }

template <typename T>
ASR_HOST_DEVICE inline T apply_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return m_exp(x);
    case UnaryOp::Log: return m_log(x);
    case UnaryOp::Sqrt: return m_sqrt(x);
    case UnaryOp::Abs: return m_abs(x);
    case UnaryOp::Relu: return x < T(0) ? T(0) : x;  // NaN passes through, as in torch.relu; a select, no branch
    case UnaryOp::Sigmoid: return T(1) / (T(1) + m_exp(-x));
    case UnaryOp::Tanh: return m_tanh(x);
    case UnaryOp::Silu: return x / (T(1) + m_exp(-x));
    case UnaryOp::Gelu: return T(0.5) * x * (T(1) + m_erf(x * T(0.70710678118654752440)));
  }
  return x;
}

// d op(x) / dx, given x and y = op(x).
template <typename T>
ASR_HOST_DEVICE inline T unary_derivative(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::Neg: return T(-1);
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return T(1) / x;
    case UnaryOp::Sqrt: return T(0.5) / y;
    case UnaryOp::Abs: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case UnaryOp::Relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::Sigmoid: return y * (T(1) - y);
    case UnaryOp::Tanh: return T(1) - y * y;
    case UnaryOp::Silu: {
      const T s = T(1) / (T(1) + m_exp(-x));
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::Gelu: {
      const T cdf = T(0.5) * (T(1) + m_erf(x * T(0.70710678118654752440)));
      const T pdf = m_exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return cdf + x * pdf;
    }
  }
  return T(0);
}

template <typename T>
ASR_HOST_DEVICE inline T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
  }
  return a;
}

}  // namespace asr::pointwise
