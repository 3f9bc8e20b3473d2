// Layer norm (over the last dim) and batch norm (per channel of [N, C, L]) kernels.
// Statistics accumulate in double; every reduction runs in a fixed order inside one thread, so
// results are bitwise reproducible for any thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

namespace {

// A 1-D parameter (weight, bias, running stat) may be a strided view; nullptr when undefined.
template <typename T>
struct Vec1 {
  T* p = nullptr;
  int64_t st = 0;
  explicit Vec1(const Tensor& t) {
    if (t.defined()) { p = t.data<T>(); st = t.strides()[0]; }
  }
  bool ok() const { return p != nullptr; }
  T& operator[](int64_t i) const { return p[i * st]; }
};

// sum over j < n of f(x[j]) in double, with four interleaved accumulators.
template <typename T, typename F>
double sum4(const T* x, int64_t n, F f) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    a0 += f(static_cast<double>(x[j]));
    a1 += f(static_cast<double>(x[j + 1]));
    a2 += f(static_cast<double>(x[j + 2]));
    a3 += f(static_cast<double>(x[j + 3]));
  }
  for (; j < n; ++j) a0 += f(static_cast<double>(x[j]));
  return (a0 + a1) + (a2 + a3);
}

constexpr int64_t kColBlock = 64;  // columns per task in the layer-norm parameter reduction

}  // namespace

void CpuBackend::layer_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias, double eps,
                            Tensor& y, Tensor& mean, Tensor& rstd) {
  dispatch_float(x_c.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n = x_c.dim() == 0 ? 1 : x_c.shape().back();
    const int64_t rows = n == 0 ? 0 : x_c.numel() / n;
    const T* px = x_c.data<T>();
    T* py = y.data<T>();
    T* pm = mean.data<T>();
    T* pr = rstd.data<T>();
    Vec1<const T> w(weight), b(bias);
#pragma omp parallel for schedule(static) if (rows * n > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * n;
      // Sums in double, four independent accumulators (the add latency, not the adds, bounded
      // the single-accumulator loop); two-pass: no cancellation for rows with a large mean.
      const double mu = sum4(xr, n, [](double t) { return t; }) / static_cast<double>(n);
      const double v = sum4(xr, n, [mu](double t) { return (t - mu) * (t - mu); });
      const double rs = 1.0 / std::sqrt(v / static_cast<double>(n) + eps);
      pm[r] = static_cast<T>(mu);
      pr[r] = static_cast<T>(rs);
      T* yr = py + r * n;
      if (w.ok() && b.ok() && w.st == 1 && b.st == 1) {  // the usual affine case: a plain loop
        const T m = static_cast<T>(mu), k = static_cast<T>(rs);
        const T* pw = w.p;
        const T* pb = b.p;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) * k * pw[j] + pb[j];
        continue;
      }
      for (int64_t j = 0; j < n; ++j) {
        double h = (xr[j] - mu) * rs;
        if (w.ok()) h *= w[j];
        if (b.ok()) h += b[j];
        yr[j] = static_cast<T>(h);
      }
    }
  });
}

void CpuBackend::layer_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                                     const Tensor& mean, const Tensor& rstd, Tensor& gx,
                                     Tensor& gweight, Tensor& gbias) {
  dispatch_float(x_c.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n = x_c.dim() == 0 ? 1 : x_c.shape().back();
    const int64_t rows = n == 0 ? 0 : x_c.numel() / n;
    const T* px = x_c.data<T>();
    const T* pg = gy_c.data<T>();
    const T* pm = mean.data<T>();
    const T* pr = rstd.data<T>();
    Vec1<const T> w(weight);
    const bool big = rows * n > 32768;

    if (gx.defined()) {
      T* pgx = gx.data<T>();
      // gx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = gy * weight.
#pragma omp parallel for schedule(static) if (big)
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = px + r * n;
        const T* gr = pg + r * n;
        const double mu = pm[r], rs = pr[r];
        double sg = 0, sgx = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double g = w.ok() ? gr[j] * static_cast<double>(w[j]) : gr[j];
          sg += g;
          sgx += g * (xr[j] - mu) * rs;
        }
        const double mg = sg / static_cast<double>(n), mgx = sgx / static_cast<double>(n);
        T* gxr = pgx + r * n;
        for (int64_t j = 0; j < n; ++j) {
          const double g = w.ok() ? gr[j] * static_cast<double>(w[j]) : gr[j];
          const double xh = (xr[j] - mu) * rs;
          gxr[j] = static_cast<T>(rs * (g - mg - xh * mgx));
        }
      }
    }

    if (gweight.defined() || gbias.defined()) {
      // Sum over rows, parallel over column blocks (each column reduced in row order).
      Vec1<T> gw(gweight), gb(gbias);
      const int64_t nblocks = (n + kColBlock - 1) / kColBlock;
#pragma omp parallel for schedule(static) if (big)
      for (int64_t blk = 0; blk < nblocks; ++blk) {
        const int64_t j0 = blk * kColBlock, j1 = std::min(n, j0 + kColBlock);
        double aw[kColBlock] = {}, ab[kColBlock] = {};
        for (int64_t r = 0; r < rows; ++r) {
          const T* xr = px + r * n;
          const T* gr = pg + r * n;
          const double mu = pm[r], rs = pr[r];
          for (int64_t j = j0; j < j1; ++j) {
            aw[j - j0] += gr[j] * (xr[j] - mu) * rs;
            ab[j - j0] += gr[j];
          }
        }
        for (int64_t j = j0; j < j1; ++j) {
          if (gw.ok()) gw[j] = static_cast<T>(aw[j - j0]);
          if (gb.ok()) gb[j] = static_cast<T>(ab[j - j0]);
        }
      }
    }
  });
}

void CpuBackend::batch_norm(const Tensor& x_c, const Tensor& weight, const Tensor& bias,
                            Tensor& running_mean, Tensor& running_var, bool training,
                            double momentum, double eps, Tensor& y, Tensor& mean,
                            Tensor& invstd) {
  dispatch_float(x_c.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t N = x_c.shape()[0], C = x_c.shape()[1], L = x_c.shape()[2];
    const int64_t M = N * L;  // values per channel
    const T* px = x_c.data<T>();
    T* py = y.data<T>();
    T* pm = mean.data<T>();
    T* pi = invstd.data<T>();
    Vec1<const T> w(weight), b(bias);
    Vec1<T> rm(running_mean), rv(running_var);
#pragma omp parallel for schedule(static) if (x_c.numel() > 32768)
    for (int64_t c = 0; c < C; ++c) {
      double mu, is;
      if (training) {
        double s = 0;
        for (int64_t i = 0; i < N; ++i) {
          const T* xr = px + (i * C + c) * L;
          for (int64_t l = 0; l < L; ++l) s += xr[l];
        }
        mu = s / static_cast<double>(M);
        double v = 0;
        for (int64_t i = 0; i < N; ++i) {
          const T* xr = px + (i * C + c) * L;
          for (int64_t l = 0; l < L; ++l) {
            const double d = xr[l] - mu;
            v += d * d;
          }
        }
        is = 1.0 / std::sqrt(v / static_cast<double>(M) + eps);
        // Running stats follow torch: the variance estimate is unbiased (M - 1).
        if (rm.ok()) rm[c] = static_cast<T>((1.0 - momentum) * rm[c] + momentum * mu);
        if (rv.ok()) {
          const double unbiased = M > 1 ? v / static_cast<double>(M - 1) : INFINITY;
          rv[c] = static_cast<T>((1.0 - momentum) * rv[c] + momentum * unbiased);
        }
      } else {
        mu = rm[c];
        is = 1.0 / std::sqrt(static_cast<double>(rv[c]) + eps);
      }
      pm[c] = static_cast<T>(mu);
      pi[c] = static_cast<T>(is);
      const double scale = w.ok() ? is * static_cast<double>(w[c]) : is;
      const double shift = b.ok() ? static_cast<double>(b[c]) : 0.0;
      for (int64_t i = 0; i < N; ++i) {
        const T* xr = px + (i * C + c) * L;
        T* yr = py + (i * C + c) * L;
        for (int64_t l = 0; l < L; ++l) yr[l] = static_cast<T>((xr[l] - mu) * scale + shift);
      }
    }
  });
}

void CpuBackend::batch_norm_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& weight,
                                     const Tensor& mean, const Tensor& invstd, bool training,
                                     Tensor& gx, Tensor& gweight, Tensor& gbias) {
  dispatch_float(x_c.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t N = x_c.shape()[0], C = x_c.shape()[1], L = x_c.shape()[2];
    const double M = static_cast<double>(N * L);
    const T* px = x_c.data<T>();
    const T* pg = gy_c.data<T>();
    const T* pm = mean.data<T>();
    const T* pi = invstd.data<T>();
    T* pgx = gx.defined() ? gx.data<T>() : nullptr;
    Vec1<const T> w(weight);
    Vec1<T> gw(gweight), gb(gbias);
#pragma omp parallel for schedule(static) if (x_c.numel() > 32768)
    for (int64_t c = 0; c < C; ++c) {
      const double mu = pm[c], is = pi[c];
      // Per-channel sums: sum(gy) and sum(gy * xhat).
      double sg = 0, sgx = 0;
      for (int64_t i = 0; i < N; ++i) {
        const T* xr = px + (i * C + c) * L;
        const T* gr = pg + (i * C + c) * L;
        for (int64_t l = 0; l < L; ++l) {
          sg += gr[l];
          sgx += gr[l] * (xr[l] - mu) * is;
        }
      }
      if (gw.ok()) gw[c] = static_cast<T>(sgx);
      if (gb.ok()) gb[c] = static_cast<T>(sg);
      if (!pgx) continue;
      const double k = w.ok() ? is * static_cast<double>(w[c]) : is;
      // Training: the batch statistics depend on x, giving the two correction terms.
      const double mg = training ? sg / M : 0.0, mgx = training ? sgx / M : 0.0;
      for (int64_t i = 0; i < N; ++i) {
        const T* xr = px + (i * C + c) * L;
        const T* gr = pg + (i * C + c) * L;
        T* gxr = pgx + (i * C + c) * L;
        for (int64_t l = 0; l < L; ++l) {
          const double xh = (xr[l] - mu) * is;
          gxr[l] = static_cast<T>(k * (gr[l] - mg - xh * mgx));
        }
      }
    }
  });
}

}  // namespace asr::cpu
