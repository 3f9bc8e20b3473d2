// CTC loss (Graves et al. 2006) in log space. States of utterance b are the extended label
// sequence l' = (blank, l1, blank, l2, ..., lS, blank) of length 2*target_length+1.
// Forward: alpha recursion, nll = -log(alpha[T-1, last] + alpha[T-1, last-1]).
// Backward: a beta recursion (rolling two rows) gives the occupancy
//   gamma[t, s] = exp(alpha[t, s] + beta[t, s] + nll),  beta excluding the emission at t,
// and d nll / d log_probs[t, v] = -sum_{s: l'_s = v} gamma[t, s].
// Each utterance is independent: parallel over b, every value computed by one thread in a
// fixed order (deterministic). Recursions run in double for f32 inputs too.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Below this many lattice cells a thread team costs more than it saves.
constexpr int64_t kParallelWork = 16384;

inline double lse2(double a, double b) {
  if (a < b) std::swap(a, b);
  if (a == kNegInf) return kNegInf;
  return a + std::log1p(std::exp(b - a));
}

inline double lse3(double a, double b, double c) { return lse2(lse2(a, b), c); }

// One utterance's extended labels and skip permissions.
struct Extended {
  std::vector<int64_t> label;  // l'_s
  std::vector<char> skip;      // transition s-2 -> s allowed
  Extended(const int64_t* tgt, int64_t len, int64_t blank) {
    const int64_t n = 2 * len + 1;
    label.assign(static_cast<size_t>(n), blank);
    skip.assign(static_cast<size_t>(n), 0);
    for (int64_t k = 0; k < len; ++k) label[2 * k + 1] = tgt[k];
    // A skip jumps over a blank onto a label that differs from the previous label.
    for (int64_t s = 3; s < n; s += 2) skip[s] = label[s] != label[s - 2];
  }
  int64_t size() const { return static_cast<int64_t>(label.size()); }
};

}  // namespace

void CpuBackend::ctc_loss(const Tensor& log_probs_c, const Tensor& targets,
                          const Tensor& input_lengths, const Tensor& target_lengths,
                          int64_t blank, Tensor& nll, Tensor& log_alpha) {
  dispatch_float(log_probs_c.dtype(), "ctc_loss", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t B = log_probs_c.shape()[0], Tm = log_probs_c.shape()[1],
                  V = log_probs_c.shape()[2];
    const int64_t S = targets.shape()[1], W = 2 * S + 1;
    const T* plp = log_probs_c.data<T>();
    const int64_t* ptg = targets.data<int64_t>();
    const int64_t* pil = input_lengths.data<int64_t>();
    const int64_t* ptl = target_lengths.data<int64_t>();
    T* pnll = nll.data<T>();
    T* pla = log_alpha.data<T>();
#pragma omp parallel for schedule(static) if (B > 1 && B * Tm * W > kParallelWork)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t Tb = pil[b];
      const Extended ext(ptg + b * S, ptl[b], blank);
      const int64_t n = ext.size();
      const T* lp = plp + b * Tm * V;
      T* la = pla + b * Tm * W;
      std::fill(la, la + Tm * W, static_cast<T>(kNegInf));
      if (Tb == 0) {  // nothing to emit: only the empty target is possible (probability 1)
        pnll[b] = static_cast<T>(n == 1 ? 0.0 : INFINITY);
        continue;
      }
      std::vector<double> prev(static_cast<size_t>(n), kNegInf), cur(static_cast<size_t>(n));
      prev[0] = lp[ext.label[0]];
      if (n > 1) prev[1] = lp[ext.label[1]];
      for (int64_t s = 0; s < std::min<int64_t>(n, 2); ++s) la[s] = static_cast<T>(prev[s]);
      for (int64_t t = 1; t < Tb; ++t) {
        const T* lpt = lp + t * V;
        for (int64_t s = 0; s < n; ++s) {
          double a = prev[s];
          if (s >= 1) a = lse2(a, prev[s - 1]);
          if (ext.skip[s]) a = lse2(a, prev[s - 2]);
          cur[s] = a == kNegInf ? kNegInf : a + lpt[ext.label[s]];
          la[t * W + s] = static_cast<T>(cur[s]);
        }
        std::swap(prev, cur);
      }
      const double ll = n > 1 ? lse2(prev[n - 1], prev[n - 2]) : prev[0];
      pnll[b] = static_cast<T>(-ll);
    }
  });
}

void CpuBackend::ctc_loss_backward(const Tensor& grad_nll, const Tensor& log_probs_c,
                                   const Tensor& targets, const Tensor& input_lengths,
                                   const Tensor& target_lengths, int64_t blank,
                                   const Tensor& nll, const Tensor& log_alpha,
                                   Tensor& grad_log_probs) {
  dispatch_float(log_probs_c.dtype(), "ctc_loss_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t B = log_probs_c.shape()[0], Tm = log_probs_c.shape()[1],
                  V = log_probs_c.shape()[2];
    const int64_t S = targets.shape()[1], W = 2 * S + 1;
    const T* plp = log_probs_c.data<T>();
    const int64_t* ptg = targets.data<int64_t>();
    const int64_t* pil = input_lengths.data<int64_t>();
    const int64_t* ptl = target_lengths.data<int64_t>();
    const T* pgn = grad_nll.data<T>();
    const T* pnll = nll.data<T>();
    const T* pla = log_alpha.data<T>();
    T* pg = grad_log_probs.data<T>();
#pragma omp parallel for schedule(static) if (B > 1 && B * Tm * W > kParallelWork)
    for (int64_t b = 0; b < B; ++b) {
      T* g = pg + b * Tm * V;
      std::fill(g, g + Tm * V, T(0));
      const int64_t Tb = pil[b];
      const double gn = pgn[b];
      // A zero upstream gradient (e.g. zero_infinity on an infeasible utterance) gives exactly
      // zero, never 0 * NaN from an infinite nll.
      if (gn == 0.0 || Tb == 0) continue;
      const Extended ext(ptg + b * S, ptl[b], blank);
      const int64_t n = ext.size();
      const T* lp = plp + b * Tm * V;
      const T* la = pla + b * Tm * W;
      const double nl = pnll[b];
      // beta[s] = log P(emissions t+1..Tb-1 | state s at t); at t = Tb-1 only the last two
      // states can end the path.
      std::vector<double> beta(static_cast<size_t>(n), kNegInf), nxt(static_cast<size_t>(n));
      beta[n - 1] = 0.0;
      if (n > 1) beta[n - 2] = 0.0;
      std::vector<double> occ(static_cast<size_t>(V), 0.0);  // occupancy per label at t
      for (int64_t t = Tb - 1; t >= 0; --t) {
        for (int64_t s = 0; s < n; ++s) {
          const double a = la[t * W + s];
          if (a == kNegInf || beta[s] == kNegInf) continue;
          occ[ext.label[s]] += std::exp(a + beta[s] + nl);
        }
        T* gt = g + t * V;
        for (int64_t s = 0; s < n; ++s) {  // write each touched label once, then reset it
          double& o = occ[ext.label[s]];
          if (o != 0.0) {
            gt[ext.label[s]] = static_cast<T>(-gn * o);
            o = 0.0;
          }
        }
        if (t == 0) break;
        // beta at t-1: state s moves to s, s+1, or s+2 (skip allowed into s+2), emitting at t.
        const T* lpt = lp + t * V;
        for (int64_t s = 0; s < n; ++s) {
          auto term = [&](int64_t s2) {
            return beta[s2] == kNegInf ? kNegInf : beta[s2] + lpt[ext.label[s2]];
          };
          double v = term(s);
          if (s + 1 < n) v = lse2(v, term(s + 1));
          if (s + 2 < n && ext.skip[s + 2]) v = lse2(v, term(s + 2));
          nxt[s] = v;
        }
        std::swap(beta, nxt);
      }
    }
  });
}

}  // namespace asr::cpu
