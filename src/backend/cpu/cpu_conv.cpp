// Convolution kernels. conv1d runs as a conv2d with H = KH = 1, so there is one implementation:
//  - depthwise (one input and one output channel per group): direct loops, parallel over (n, c);
//  - everything else: im2col + one GEMM per (sample, group, column chunk). A 1x1 kernel with
//    stride 1 and no padding needs no im2col: the input itself is the column matrix.
// Every parallel loop writes disjoint outputs and reductions run in a fixed order, so results
// are bitwise reproducible for a given thread count.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>

#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

namespace {

// Below this many inner-loop iterations a loop runs on one thread: forking costs more than it
// saves (and small calls dominate gradient checks). Serial and parallel give identical results.
constexpr int64_t kParWork = 32768;

// Shapes of one convolution call (2-D form; conv1d sets H = KH = 1, sh = 1, ph = 0).
struct Geom {
  int64_t N, Cin, Cout, G, H, W, KH, KW, sh, sw, ph, pw, Ho, Wo;
  int64_t cg() const { return Cin / G; }     // input channels per group
  int64_t cog() const { return Cout / G; }   // output channels per group
  int64_t kk() const { return KH * KW; }
  int64_t hw() const { return H * W; }
  int64_t howo() const { return Ho * Wo; }
  int64_t rows() const { return cg() * kk(); }  // column-matrix rows per group
  bool depthwise() const { return cg() == 1 && cog() == 1; }
  // The input already is the column matrix [Cin, H*W].
  bool direct_cols() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  // Output positions per im2col chunk: bounds the column buffer to ~kColBudget elements.
  int64_t chunk() const {
    if (direct_cols()) return howo();
    constexpr int64_t kColBudget = int64_t{1} << 20;
    return std::max<int64_t>(1, std::min(howo(), kColBudget / std::max<int64_t>(1, Cin * kk())));
  }
};

// Output index range [lo, hi) whose input index o*s - p + k lies in [0, in).
inline void valid_range(int64_t in, int64_t out, int64_t s, int64_t p, int64_t k, int64_t& lo,
                        int64_t& hi) {
  int64_t a = p - k;  // need o*s >= a
  lo = a > 0 ? (a + s - 1) / s : 0;
  int64_t b = in - 1 + p - k;  // need o*s <= b
  hi = b < 0 ? 0 : std::min(out, b / s + 1);
  if (hi < lo) hi = lo;
}

template <typename T>
void blas_gemm(BackendStats& st, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto opa = ta ? CblasTrans : CblasNoTrans;
  const auto opb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, opa, opb, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
  } else {
    cblas_dgemm(CblasRowMajor, opa, opb, (blasint)m, (blasint)n, (blasint)k, 1.0, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
  }
  st.gemm_calls += 1;
  st.gemm_flops += static_cast<uint64_t>(2 * m * n * k);
}

// cols[r, j] = x_n[c, oh*sh - ph + kh, ow*sw - pw + kw] (0 outside) for r = (c, kh, kw) and
// output positions p0 + j, j < np. Walked one output row at a time: the padding columns are
// filled with zeros and the valid ones copied (a memcpy when sw = 1), with no test per element.
template <typename T>
void im2col(const Geom& g, const T* xn, int64_t p0, int64_t np, T* cols) {
  const int64_t nrows = g.Cin * g.kk();
#pragma omp parallel for schedule(static) if (nrows * np > kParWork)
  for (int64_t r = 0; r < nrows; ++r) {
    const int64_t c = r / g.kk(), kh = (r % g.kk()) / g.KW, kw = r % g.KW;
    const T* xc = xn + c * g.hw();
    T* out = cols + r * np;
    int64_t lo, hi;  // output columns whose input column is inside the row
    valid_range(g.W, g.Wo, g.sw, g.pw, kw, lo, hi);
    int64_t oh = p0 / g.Wo, ow0 = p0 % g.Wo;
    for (int64_t j = 0; j < np; ++oh, ow0 = 0) {
      const int64_t count = std::min(g.Wo - ow0, np - j);  // outputs of this row in the chunk
      T* o = out + j;  // o[ow - ow0] for ow in [ow0, ow0 + count)
      const int64_t ih = oh * g.sh - g.ph + kh;
      const int64_t a = std::clamp(lo, ow0, ow0 + count), b = std::clamp(hi, a, ow0 + count);
      if (ih < 0 || ih >= g.H) {
        std::fill(o, o + count, T(0));
      } else {
        std::fill(o, o + (a - ow0), T(0));
        const int64_t base = ih * g.W - g.pw + kw;  // input index of output column 0
        if (g.sw == 1) {
          std::copy(xc + base + a, xc + base + b, o + (a - ow0));
        } else {
          for (int64_t ow = a; ow < b; ++ow) o[ow - ow0] = xc[base + ow * g.sw];
        }
        std::fill(o + (b - ow0), o + count, T(0));
      }
      j += count;
    }
  }
}

// gx_n[c, ...] += scatter of dcols (the adjoint of im2col). Parallel over input channels: each
// channel's rows touch only that channel's plane.
template <typename T>
void col2im(const Geom& g, const T* dcols, int64_t p0, int64_t np, T* gxn) {
#pragma omp parallel for schedule(static) if (g.Cin * g.kk() * np > kParWork)
  for (int64_t c = 0; c < g.Cin; ++c) {
    T* gxc = gxn + c * g.hw();
    for (int64_t kr = 0; kr < g.kk(); ++kr) {
      const int64_t kh = kr / g.KW, kw = kr % g.KW;
      const T* in = dcols + (c * g.kk() + kr) * np;
      int64_t oh = p0 / g.Wo, ow = p0 % g.Wo;
      for (int64_t j = 0; j < np; ++j) {
        const int64_t ih = oh * g.sh - g.ph + kh, iw = ow * g.sw - g.pw + kw;
        if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) gxc[ih * g.W + iw] += in[j];
        if (++ow == g.Wo) { ow = 0; ++oh; }
      }
    }
  }
}

// ---- depthwise ---------------------------------------------------------------------------------

// Visits every (output, input) pair of one channel plane: fn(out_index, in_index, w_index, count)
// describes `count` consecutive outputs (in_index advancing by sw). Loops run kh, kw outermost
// per output row so the innermost loop is a strided axpy/dot.
template <typename Fn>
inline void depthwise_plane(const Geom& g, Fn&& fn) {
  for (int64_t oh = 0; oh < g.Ho; ++oh) {
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = oh * g.sh - g.ph + kh;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        int64_t lo, hi;
        valid_range(g.W, g.Wo, g.sw, g.pw, kw, lo, hi);
        if (hi > lo)
          fn(oh * g.Wo + lo, ih * g.W + lo * g.sw - g.pw + kw, kh * g.KW + kw, hi - lo);
      }
    }
  }
}

template <typename T>
void depthwise_forward(const Geom& g, const T* x, const T* w, const T* b, int64_t bs, T* y) {
  const int64_t C = g.Cout, sw = g.sw;
#pragma omp parallel for schedule(static) if (g.N * C * g.howo() * g.kk() > kParWork)
  for (int64_t nc = 0; nc < g.N * C; ++nc) {
    const int64_t c = nc % C;
    const T* xp = x + nc * g.hw();
    const T* wp = w + c * g.kk();
    T* yp = y + nc * g.howo();
    std::fill(yp, yp + g.howo(), b ? b[c * bs] : T(0));
    depthwise_plane(g, [&](int64_t o, int64_t i, int64_t k, int64_t cnt) {
      const T wv = wp[k];
      if (sw == 1) {
        for (int64_t j = 0; j < cnt; ++j) yp[o + j] += wv * xp[i + j];
      } else {
        for (int64_t j = 0; j < cnt; ++j) yp[o + j] += wv * xp[i + j * sw];
      }
    });
  }
}

template <typename T>
void depthwise_backward(const Geom& g, const T* gy, const T* x, const T* w, T* gx, T* gw) {
  const int64_t C = g.Cout, sw = g.sw;
  if (gx) {
#pragma omp parallel for schedule(static) if (g.N * C * g.howo() * g.kk() > kParWork)
    for (int64_t nc = 0; nc < g.N * C; ++nc) {
      const int64_t c = nc % C;
      const T* gyp = gy + nc * g.howo();
      const T* wp = w + c * g.kk();
      T* gxp = gx + nc * g.hw();
      std::fill(gxp, gxp + g.hw(), T(0));
      depthwise_plane(g, [&](int64_t o, int64_t i, int64_t k, int64_t cnt) {
        const T wv = wp[k];
        if (sw == 1) {
          for (int64_t j = 0; j < cnt; ++j) gxp[i + j] += wv * gyp[o + j];
        } else {
          for (int64_t j = 0; j < cnt; ++j) gxp[i + j * sw] += wv * gyp[o + j];
        }
      });
    }
  }
  if (gw) {
    // One channel per thread; samples summed in order.
#pragma omp parallel for schedule(static) if (g.N * C * g.howo() * g.kk() > kParWork)
    for (int64_t c = 0; c < C; ++c) {
      T* gwp = gw + c * g.kk();
      std::fill(gwp, gwp + g.kk(), T(0));
      for (int64_t n = 0; n < g.N; ++n) {
        const T* gyp = gy + (n * C + c) * g.howo();
        const T* xp = x + (n * C + c) * g.hw();
        depthwise_plane(g, [&](int64_t o, int64_t i, int64_t k, int64_t cnt) {
          T acc = 0;
          for (int64_t j = 0; j < cnt; ++j) acc += gyp[o + j] * xp[i + j * sw];
          gwp[k] += acc;
        });
      }
    }
  }
}

// ---- general (im2col + GEMM) -------------------------------------------------------------------

template <typename T>
void gemm_forward(BackendStats& st, const Geom& g, const T* x, const T* w, const T* b, int64_t bs,
                  T* y) {
  const int64_t howo = g.howo(), rows = g.rows(), cog = g.cog();
  // Seed y with the bias so each GEMM accumulates onto it (beta = 1).
#pragma omp parallel for schedule(static) if (g.N * g.Cout * howo > kParWork)
  for (int64_t nc = 0; nc < g.N * g.Cout; ++nc)
    std::fill(y + nc * howo, y + (nc + 1) * howo, b ? b[(nc % g.Cout) * bs] : T(0));
  const int64_t P = g.chunk();
  std::unique_ptr<T[]> cols;
  if (!g.direct_cols()) cols.reset(new T[static_cast<size_t>(g.Cin * g.kk() * P)]);
  for (int64_t n = 0; n < g.N; ++n) {
    const T* xn = x + n * g.Cin * g.hw();
    T* yn = y + n * g.Cout * howo;
    for (int64_t p0 = 0; p0 < howo; p0 += P) {
      const int64_t np = std::min(P, howo - p0);
      if (!g.direct_cols()) im2col(g, xn, p0, np, cols.get());
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* bmat = g.direct_cols() ? xn + gi * g.cg() * g.hw() + p0 : cols.get() + gi * rows * np;
        const int64_t ldb = g.direct_cols() ? g.hw() : np;
        blas_gemm<T>(st, false, false, cog, np, rows, w + gi * cog * rows, rows, bmat, ldb, T(1),
                     yn + gi * cog * howo + p0, howo);
      }
    }
  }
}

template <typename T>
void gemm_backward(BackendStats& st, const Geom& g, const T* gy, const T* x, const T* w, T* gx,
                   T* gw) {
  const int64_t howo = g.howo(), rows = g.rows(), cog = g.cog(), hw = g.hw();
  const bool direct = g.direct_cols();
  const int64_t P = g.chunk();
  std::unique_ptr<T[]> cols, dcols;
  if (gw) {
    std::fill(gw, gw + g.Cout * rows, T(0));
    if (!direct) cols.reset(new T[static_cast<size_t>(g.Cin * g.kk() * P)]);
  }
  if (gx && !direct) dcols.reset(new T[static_cast<size_t>(g.Cin * g.kk() * P)]);
  for (int64_t n = 0; n < g.N; ++n) {
    const T* xn = x ? x + n * g.Cin * hw : nullptr;
    const T* gyn = gy + n * g.Cout * howo;
    T* gxn = gx ? gx + n * g.Cin * hw : nullptr;
    if (gxn && !direct) std::fill(gxn, gxn + g.Cin * hw, T(0));
    for (int64_t p0 = 0; p0 < howo; p0 += P) {
      const int64_t np = std::min(P, howo - p0);
      if (gw && !direct) im2col(g, xn, p0, np, cols.get());
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* gyg = gyn + gi * cog * howo + p0;  // [cog, np], ld howo
        if (gw) {
          // gw_g[cog, rows] += gy_g @ cols_g^T (samples and chunks summed in order).
          const T* cmat = direct ? xn + gi * g.cg() * hw + p0 : cols.get() + gi * rows * np;
          blas_gemm<T>(st, false, true, cog, rows, np, gyg, howo, cmat, direct ? hw : np, T(1),
                       gw + gi * cog * rows, rows);
        }
        if (gx) {
          // dcols_g[rows, np] = w_g^T @ gy_g; in the direct case dcols is gx itself.
          const T* wg = w + gi * cog * rows;
          if (direct)
            blas_gemm<T>(st, true, false, rows, np, cog, wg, rows, gyg, howo, T(0),
                         gxn + gi * g.cg() * hw + p0, hw);
          else
            blas_gemm<T>(st, true, false, rows, np, cog, wg, rows, gyg, howo, T(0),
                         dcols.get() + gi * rows * np, np);
        }
      }
      if (gx && !direct) col2im(g, dcols.get(), p0, np, gxn);
    }
  }
}

template <typename T>
void bias_backward(const Geom& g, const T* gy, T* gb, int64_t gbs) {
  const int64_t howo = g.howo();
#pragma omp parallel for schedule(static) if (g.N * g.Cout * howo > kParWork)
  for (int64_t c = 0; c < g.Cout; ++c) {
    T acc = 0;
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = gy + (n * g.Cout + c) * howo;
      for (int64_t i = 0; i < howo; ++i) acc += p[i];
    }
    gb[c * gbs] = acc;
  }
}

// ---- entry points ------------------------------------------------------------------------------

void run_forward(BackendStats& st, const char* op, const Geom& g, const Tensor& x_c,
                 const Tensor& w_c, const Tensor& bias, Tensor& y) {
  dispatch_float(y.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    const int64_t bs = bias.defined() ? bias.strides()[0] : 0;
    if (g.depthwise())
      depthwise_forward<T>(g, x_c.data<T>(), w_c.data<T>(), b, bs, y.data<T>());
    else
      gemm_forward<T>(st, g, x_c.data<T>(), w_c.data<T>(), b, bs, y.data<T>());
  });
}

void run_backward(BackendStats& st, const char* op, const Geom& g, const Tensor& gy_c,
                  const Tensor& x_c, const Tensor& w_c, Tensor& gx, Tensor& gw, Tensor& gbias) {
  dispatch_float(gy_c.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* gy = gy_c.data<T>();
    if (gbias.defined()) bias_backward<T>(g, gy, gbias.data<T>(), gbias.strides()[0]);
    if (!gx.defined() && !gw.defined()) return;
    const T* x = gw.defined() ? x_c.data<T>() : nullptr;
    const T* w = gx.defined() ? w_c.data<T>() : nullptr;
    T* gxp = gx.defined() ? gx.data<T>() : nullptr;
    T* gwp = gw.defined() ? gw.data<T>() : nullptr;
    if (g.depthwise())
      depthwise_backward<T>(g, gy, x, w, gxp, gwp);
    else
      gemm_backward<T>(st, g, gy, x, w, gxp, gwp);
  });
}

// Geometry for the backward pass: x_c may be undefined when gw is not needed and w_c when gx is
// not needed (the op saves only what the backward uses), so shapes come from gx / gw then.
const Shape& pick_shape(const Tensor& a, const Tensor& b) {
  return a.defined() ? a.shape() : b.shape();
}

Geom geom1d(const Shape& xs, const Shape& ws, int64_t stride, int64_t pad, int64_t groups) {
  Geom g{};
  g.N = xs[0]; g.Cin = xs[1]; g.Cout = ws[0]; g.G = groups;
  g.H = 1; g.W = xs[2]; g.KH = 1; g.KW = ws[2];
  g.sh = 1; g.sw = stride; g.ph = 0; g.pw = pad;
  g.Ho = 1; g.Wo = (g.W + 2 * pad - g.KW) / stride + 1;
  return g;
}

Geom geom2d(const Shape& xs, const Shape& ws, int64_t stride, int64_t pad, int64_t groups) {
  Geom g{};
  g.N = xs[0]; g.Cin = xs[1]; g.Cout = ws[0]; g.G = groups;
  g.H = xs[2]; g.W = xs[3]; g.KH = ws[2]; g.KW = ws[3];
  g.sh = g.sw = stride; g.ph = g.pw = pad;
  g.Ho = (g.H + 2 * pad - g.KH) / stride + 1;
  g.Wo = (g.W + 2 * pad - g.KW) / stride + 1;
  return g;
}

// gbias alone needs only gy: fill the geometry fields bias_backward reads from gy's shape.
Geom geom_from_gy(const Shape& gys) {
  Geom g{};
  g.N = gys[0]; g.Cout = gys[1]; g.G = 1; g.Cin = 1; g.H = g.W = g.KH = g.KW = 1;
  g.sh = g.sw = 1;
  g.Ho = gys.size() == 4 ? gys[2] : 1;
  g.Wo = gys.back();
  return g;
}

}  // namespace

void CpuBackend::conv1d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
                        int64_t pad, int64_t groups, Tensor& y) {
  run_forward(stats(), "conv1d", geom1d(x_c.shape(), w_c.shape(), stride, pad, groups), x_c, w_c,
              bias, y);
}

void CpuBackend::conv1d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c,
                                 int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                                 Tensor& gw, Tensor& gbias) {
  const bool shapes = gx.defined() || gw.defined();
  Geom g = shapes ? geom1d(pick_shape(x_c, gx), pick_shape(w_c, gw), stride, pad, groups)
                  : geom_from_gy(gy_c.shape());
  run_backward(stats(), "conv1d_backward", g, gy_c, x_c, w_c, gx, gw, gbias);
}

void CpuBackend::conv2d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
                        int64_t pad, int64_t groups, Tensor& y) {
  run_forward(stats(), "conv2d", geom2d(x_c.shape(), w_c.shape(), stride, pad, groups), x_c, w_c,
              bias, y);
}

void CpuBackend::conv2d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c,
                                 int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                                 Tensor& gw, Tensor& gbias) {
  const bool shapes = gx.defined() || gw.defined();
  Geom g = shapes ? geom2d(pick_shape(x_c, gx), pick_shape(w_c, gw), stride, pad, groups)
                  : geom_from_gy(gy_c.shape());
  run_backward(stats(), "conv2d_backward", g, gy_c, x_c, w_c, gx, gw, gbias);
}

}  // namespace asr::cpu
