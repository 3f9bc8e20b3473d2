// Convolution as direct loops (no im2col): conv1d runs as a conv2d with H = KH = 1. Every output
// value is computed by one thread (forward, gx) or one block with a fixed reduction tree (gw,
// gbias), each summing in a fixed order: no atomics, bitwise reproducible. Supports groups,
// stride and zero padding (dilation 1), all layouts contiguous NC(H)W.
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

struct ConvGeom {
  int64_t N, Cin, Cout, G, H, W, KH, KW, sh, sw, ph, pw, Ho, Wo;
};

// y[n, co, oh, ow] = bias[co] + sum over the group's input channels and the kernel window.
template <typename T>
__global__ void conv_forward_kernel(ConvGeom g, const T* x, const T* w, const T* b, int64_t bs,
                                    T* y) {
  const int64_t total = g.N * g.Cout * g.Ho * g.Wo;
  const int64_t cg = g.Cin / g.G, cog = g.Cout / g.G;
  ASR_GRID_STRIDE(i, total) {
    const int64_t ow = i % g.Wo;
    int64_t t = i / g.Wo;
    const int64_t oh = t % g.Ho;
    t /= g.Ho;
    const int64_t co = t % g.Cout, n = t / g.Cout;
    const int64_t grp = co / cog;
    T acc = b ? b[co * bs] : T(0);
    for (int64_t ci = 0; ci < cg; ++ci) {
      const T* xc = x + (n * g.Cin + grp * cg + ci) * g.H * g.W;
      const T* wc = w + (co * cg + ci) * g.KH * g.KW;
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const int64_t ih = oh * g.sh - g.ph + kh;
        if (ih < 0 || ih >= g.H) continue;
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const int64_t iw = ow * g.sw - g.pw + kw;
          if (iw < 0 || iw >= g.W) continue;
          acc += wc[kh * g.KW + kw] * xc[ih * g.W + iw];
        }
      }
    }
    y[i] = acc;
  }
}

// gx[n, ci, ih, iw] = sum over the output positions and output channels that read it.
template <typename T>
__global__ void conv_gx_kernel(ConvGeom g, const T* gy, const T* w, T* gx) {
  const int64_t total = g.N * g.Cin * g.H * g.W;
  const int64_t cg = g.Cin / g.G, cog = g.Cout / g.G;
  ASR_GRID_STRIDE(i, total) {
    const int64_t iw = i % g.W;
    int64_t t = i / g.W;
    const int64_t ih = t % g.H;
    t /= g.H;
    const int64_t ci = t % g.Cin, n = t / g.Cin;
    const int64_t grp = ci / cg, cil = ci % cg;
    T acc = 0;
    for (int64_t col = 0; col < cog; ++col) {
      const int64_t co = grp * cog + col;
      const T* gyc = gy + (n * g.Cout + co) * g.Ho * g.Wo;
      const T* wc = w + (co * cg + cil) * g.KH * g.KW;
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const int64_t nh = ih + g.ph - kh;  // = oh * sh
        if (nh < 0 || nh % g.sh != 0) continue;
        const int64_t oh = nh / g.sh;
        if (oh >= g.Ho) continue;
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const int64_t nw = iw + g.pw - kw;
          if (nw < 0 || nw % g.sw != 0) continue;
          const int64_t ow = nw / g.sw;
          if (ow >= g.Wo) continue;
          acc += wc[kh * g.KW + kw] * gyc[oh * g.Wo + ow];
        }
      }
    }
    gx[i] = acc;
  }
}

// gw[co, cil, kh, kw]: one block per weight element, reduced over samples and output positions.
template <typename T>
__global__ void conv_gw_kernel(ConvGeom g, const T* gy, const T* x, T* gw) {
  __shared__ double sh[kThreads];
  const int64_t cg = g.Cin / g.G, cog = g.Cout / g.G;
  const int64_t total = g.Cout * cg * g.KH * g.KW;
  const int64_t howo = g.Ho * g.Wo, m_total = g.N * howo;
  for (int64_t e = blockIdx.x; e < total; e += gridDim.x) {
    const int64_t kw = e % g.KW;
    int64_t t = e / g.KW;
    const int64_t kh = t % g.KH;
    t /= g.KH;
    const int64_t cil = t % cg, co = t / cg;
    const int64_t ci = (co / cog) * cg + cil;
    double acc = 0;
    for (int64_t m = threadIdx.x; m < m_total; m += blockDim.x) {
      const int64_t ow = m % g.Wo, oh = (m / g.Wo) % g.Ho, n = m / howo;
      const int64_t ih = oh * g.sh - g.ph + kh, iw = ow * g.sw - g.pw + kw;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
      acc += static_cast<double>(gy[(n * g.Cout + co) * howo + oh * g.Wo + ow]) *
             static_cast<double>(x[((n * g.Cin + ci) * g.H + ih) * g.W + iw]);
    }
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0) gw[e] = static_cast<T>(acc);
  }
}

// gbias[co] = sum of gy over samples and positions; one block per channel.
template <typename T>
__global__ void conv_gbias_kernel(const T* gy, int64_t N, int64_t C, int64_t P, T* gb,
                                  int64_t gbs) {
  __shared__ double sh[kThreads];
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double acc = 0;
    for (int64_t m = threadIdx.x; m < N * P; m += blockDim.x)
      acc += gy[((m / P) * C + c) * P + m % P];
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0) gb[c * gbs] = static_cast<T>(acc);
  }
}

// Geometry from the input and weight shapes ([N, Cin, (H,) W], [Cout, Cin/G, (KH,) KW]).
ConvGeom make_geom(const Shape& xs, const Shape& ws, int64_t stride, int64_t pad, int64_t groups,
                   bool two_d) {
  ConvGeom g{};
  g.N = xs[0];
  g.Cin = xs[1];
  g.Cout = ws[0];
  g.G = groups;
  g.H = two_d ? xs[2] : 1;
  g.W = xs.back();
  g.KH = two_d ? ws[2] : 1;
  g.KW = ws.back();
  g.sh = two_d ? stride : 1;
  g.sw = stride;
  g.ph = two_d ? pad : 0;
  g.pw = pad;
  g.Ho = (g.H + 2 * g.ph - g.KH) / g.sh + 1;
  g.Wo = (g.W + 2 * g.pw - g.KW) / g.sw + 1;
  return g;
}

void check_geom(const char* op, const ConvGeom& g) {
  ASR_CHECK(g.G >= 1 && g.Cin % g.G == 0 && g.Cout % g.G == 0 && g.sh >= 1 && g.sw >= 1 &&
                g.Ho >= 0 && g.Wo >= 0,
            op, "invalid geometry: Cin ", g.Cin, ", Cout ", g.Cout, ", groups ", g.G);
}

void conv_forward(int device, const char* op, bool two_d, const Tensor& x_c, const Tensor& w_c,
                  const Tensor& bias, int64_t stride, int64_t pad, int64_t groups, Tensor& y) {
  const ConvGeom g = make_geom(x_c.shape(), w_c.shape(), stride, pad, groups, two_d);
  check_geom(op, g);
  const int64_t total = g.N * g.Cout * g.Ho * g.Wo;
  if (total == 0) return;
  DeviceGuard guard(device);
  dispatch_float(y.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    conv_forward_kernel<T><<<blocks_for(total), kThreads>>>(
        g, x_c.data<T>(), w_c.data<T>(), opt_data<const T>(bias), opt_stride0(bias), y.data<T>());
    CUDA_CHECK_LAUNCH();
  });
}

// x_c may be undefined when gw is, and w_c when gx is (the op saves only what is needed).
void conv_backward(int device, const char* op, bool two_d, const Tensor& gy_c, const Tensor& x_c,
                   const Tensor& w_c, int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                   Tensor& gw, Tensor& gbias) {
  DeviceGuard guard(device);
  dispatch_float(gy_c.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const Shape& gys = gy_c.shape();
    if (gbias.defined()) {
      const int64_t N = gys[0], C = gys[1], P = two_d ? gys[2] * gys[3] : gys[2];
      if (C > 0) {
        conv_gbias_kernel<T><<<blocks_for(C, 1), kThreads>>>(gy_c.data<T>(), N, C, P,
                                                            gbias.data<T>(), opt_stride0(gbias));
        CUDA_CHECK_LAUNCH();
      }
    }
    if (!gx.defined() && !gw.defined()) return;
    const Shape& xs = x_c.defined() ? x_c.shape() : gx.shape();
    const Shape& ws = w_c.defined() ? w_c.shape() : gw.shape();
    const ConvGeom g = make_geom(xs, ws, stride, pad, groups, two_d);
    check_geom(op, g);
    if (gx.defined()) {
      ASR_CHECK(w_c.defined(), op, "gx needs the weight");
      const int64_t total = g.N * g.Cin * g.H * g.W;
      if (total > 0) {
        conv_gx_kernel<T><<<blocks_for(total), kThreads>>>(g, gy_c.data<T>(), w_c.data<T>(),
                                                          gx.data<T>());
        CUDA_CHECK_LAUNCH();
      }
    }
    if (gw.defined()) {
      ASR_CHECK(x_c.defined(), op, "gw needs the input");
      const int64_t total = g.Cout * (g.Cin / g.G) * g.KH * g.KW;
      if (total > 0) {
        conv_gw_kernel<T><<<blocks_for(total, 1), kThreads>>>(g, gy_c.data<T>(), x_c.data<T>(),
                                                             gw.data<T>());
        CUDA_CHECK_LAUNCH();
      }
    }
  });
}

}  // namespace

void CudaBackend::conv1d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
                         int64_t pad, int64_t groups, Tensor& y) {
  conv_forward(device_, "conv1d", false, x_c, w_c, bias, stride, pad, groups, y);
}

void CudaBackend::conv1d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c,
                                  int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                                  Tensor& gw, Tensor& gbias) {
  conv_backward(device_, "conv1d_backward", false, gy_c, x_c, w_c, stride, pad, groups, gx, gw,
                gbias);
}

void CudaBackend::conv2d(const Tensor& x_c, const Tensor& w_c, const Tensor& bias, int64_t stride,
                         int64_t pad, int64_t groups, Tensor& y) {
  conv_forward(device_, "conv2d", true, x_c, w_c, bias, stride, pad, groups, y);
}

void CudaBackend::conv2d_backward(const Tensor& gy_c, const Tensor& x_c, const Tensor& w_c,
                                  int64_t stride, int64_t pad, int64_t groups, Tensor& gx,
                                  Tensor& gw, Tensor& gbias) {
  conv_backward(device_, "conv2d_backward", true, gy_c, x_c, w_c, stride, pad, groups, gx, gw,
                gbias);
}

}  // namespace asr::cuda
