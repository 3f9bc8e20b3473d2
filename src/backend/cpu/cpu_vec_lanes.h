#pragma once
// The exp-based f32 kernels written once over a lane type L (Sse2Lanes: 4 floats, in
// cpu_vec_exp.h; Avx2Lanes: 8 floats, in cpu_vec_avx2.cpp). Every operation is lane-wise and
// the same sequence at either width (no FMA), so both widths give bit-identical results and the
// runtime choice of width never changes a number. Templates only: the AVX2 instantiations live
// in the one file built with -mavx2, and nothing compiled for AVX2 can leak into baseline code.
//
// L provides: V, I (int vector), kWidth, set1, zero, add, sub, mul, div, min, max, gt (ordered
// a > b mask), unord (NaN mask), and_, or_, andnot (~a & b), cvtt (truncate), cvt (round),
// to_float, i_set1, i_add, i_sub, i_srai1, i_shl23, as_float, load, store.
#include <cstdint>

namespace asr::cpu::lanes {

// e^x: x = n ln2 + r, |r| <= ln2/2; e^r by Cephes' degree-6 polynomial (within 2 ulp); 2^n
// applied as two factors so that n in [-150, 128] stays representable. Overflow gives +inf,
// x < -104 gives 0, NaN stays NaN, as expf.
template <class L>
inline typename L::V exp(typename L::V x) {
  using V = typename L::V;
  using I = typename L::I;
  const V nan_mask = L::unord(x, x);
  const V over = L::gt(x, L::set1(88.72283905f));
  const V xc = L::max(L::min(x, L::set1(88.8f)), L::set1(-104.0f));  // NaN lanes become -104 (fixed below)
  const V t = L::add(L::mul(xc, L::set1(1.44269504088896341f)), L::set1(0.5f));
  I n = L::cvtt(t);
  const V fn0 = L::to_float(n);
  const V fix = L::and_(L::gt(fn0, t), L::set1(1.0f));  // floor for t < 0
  const V fn = L::sub(fn0, fix);
  n = L::cvt(fn);
  V r = L::sub(xc, L::mul(fn, L::set1(0.693359375f)));
  r = L::sub(r, L::mul(fn, L::set1(-2.12194440e-4f)));
  const V z = L::mul(r, r);
  V p = L::set1(1.9875691500e-4f);
  p = L::add(L::mul(p, r), L::set1(1.3981999507e-3f));
  p = L::add(L::mul(p, r), L::set1(8.3334519073e-3f));
  p = L::add(L::mul(p, r), L::set1(4.1665795894e-2f));
  p = L::add(L::mul(p, r), L::set1(1.6666665459e-1f));
  p = L::add(L::mul(p, r), L::set1(5.0000001201e-1f));
  p = L::add(L::add(L::mul(p, z), r), L::set1(1.0f));
  const I half = L::i_srai1(n);  // floor(n / 2); the rest, n - half, is in [-75, 64]
  const I bias = L::i_set1(127);
  const V s1 = L::as_float(L::i_shl23(L::i_add(half, bias)));
  const V s2 = L::as_float(L::i_shl23(L::i_add(L::i_sub(n, half), bias)));
  V y = L::mul(L::mul(p, s1), s2);
  y = L::or_(L::and_(over, L::set1(__builtin_inff())), L::andnot(over, y));
  return L::or_(L::and_(nan_mask, x), L::andnot(nan_mask, y));
}

// What the exp-based unary kernels compute from e = e^(sign x) and x.
enum class ExpMap { Exp, Sigmoid, Silu };

template <class L, ExpMap M>
inline typename L::V exp_map_lanes(typename L::V x) {
  const typename L::V one = L::set1(1.0f);
  if constexpr (M == ExpMap::Exp) return exp<L>(x);
  const typename L::V e = exp<L>(L::mul(L::set1(-1.0f), x));
  if constexpr (M == ExpMap::Sigmoid) return L::div(one, L::add(one, e));
  return L::div(x, L::add(one, e));
}

// sigmoid(z) = 1 / (1 + e^(0 - z)), as the fused silu kernels take it.
template <class L>
inline typename L::V sigmoid_lanes(typename L::V z) {
  const typename L::V one = L::set1(1.0f);
  return L::div(one, L::add(one, exp<L>(L::sub(L::zero(), z))));
}

// gy * silu'(z) = gy * s * (1 + z (1 - s)), s = sigmoid(z).
template <class L>
inline typename L::V silu_grad_lanes(typename L::V z, typename L::V g) {
  const typename L::V one = L::set1(1.0f);
  const typename L::V s = sigmoid_lanes<L>(z);
  return L::mul(g, L::mul(s, L::add(one, L::mul(z, L::sub(one, s)))));
}

// out[i] = f(a[i], b[i], c[i]) for i < n, kWidth lanes at a time; the tail goes through a
// zero-padded block, so an element takes the same path wherever it sits. b and c may be null
// (their lanes are then zero).
template <class L, class F>
inline void map3(const float* a, const float* b, const float* c, float* out, int64_t n, F f) {
  constexpr int64_t W = L::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W)
    L::store(out + i, f(L::load(a + i), b ? L::load(b + i) : L::zero(), c ? L::load(c + i) : L::zero()));
  if (i < n) {
    float ab[W] = {}, bb[W] = {}, cb[W] = {}, ob[W];
    for (int64_t j = i; j < n; ++j) {
      ab[j - i] = a[j];
      if (b) bb[j - i] = b[j];
      if (c) cb[j - i] = c[j];
    }
    L::store(ob, f(L::load(ab), L::load(bb), L::load(cb)));
    for (int64_t j = i; j < n; ++j) out[j] = ob[j - i];
  }
}

// The kernels the backends call (f32, contiguous).
template <class L, ExpMap M>
inline void exp_map(const float* x, float* y, int64_t n) {
  map3<L>(x, nullptr, nullptr, y, n, [](auto v, auto, auto) { return exp_map_lanes<L, M>(v); });
}
// The same with the kind chosen at run time (the entry points of each width).
template <class L>
inline void exp_map_of_kind(ExpMap kind, const float* x, float* y, int64_t n) {
  if (kind == ExpMap::Exp) exp_map<L, ExpMap::Exp>(x, y, n);
  else if (kind == ExpMap::Sigmoid) exp_map<L, ExpMap::Sigmoid>(x, y, n);
  else exp_map<L, ExpMap::Silu>(x, y, n);
}
template <class L>
inline void silu_backward(const float* x, const float* gy, float* gx, int64_t n) {
  map3<L>(x, gy, nullptr, gx, n, [](auto v, auto g, auto) { return silu_grad_lanes<L>(v, g); });
}
// y = silu(x + bias) (gy null) or gx = gy * silu'(x + bias).
template <class L>
inline void bias_silu(const float* x, const float* bias, const float* gy, float* out, int64_t n) {
  if (!gy) {
    map3<L>(x, bias, nullptr, out, n, [](auto v, auto b, auto) {
      const auto z = L::add(v, b);
      return L::mul(z, sigmoid_lanes<L>(z));
    });
  } else {
    map3<L>(x, bias, gy, out, n, [](auto v, auto b, auto g) { return silu_grad_lanes<L>(L::add(v, b), g); });
  }
}

}  // namespace asr::cpu::lanes
