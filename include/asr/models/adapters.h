#pragma once
// NeMo's adapters (spec §5): LinearAdapter, RelPositionMultiHeadAttentionAdapter and the residual
// add strategy (stochastic depth, L2 auxiliary loss), plus AdapterSet = one module's
// `adapter_layer` ModuleDict with per-name enabled flags. Parameter names below an AdapterSet
// equal NeMo's keys below `adapter_layer.` ("<name>.module.0.weight", "<name>.linear_q.weight").
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asr/models/layers.h"
#include "asr/nn/module.h"

namespace asr::models {

enum class AdapterType { Linear, RelPositionMHA };

// ResidualAddAdapterStrategy / MHAResidualAddAdapterStrategy settings (training only).
struct AdapterStrategyConfig {
  double stochastic_depth = 0.0;  // p: out *= bernoulli(1-p)/(1-p), one scalar per call
  double l2_lambda = 0.0;         // aux loss l2_lambda * mean_b(sum (adapter out)^2)
};

// in_features / n_feat is always the host module's d_model (NeMo's update_adapter_cfg_input_dim).
struct AdapterConfig {
  AdapterType type = AdapterType::Linear;
  // LinearAdapter
  int64_t dim = 32;
  std::string activation = "swish";   // swish|silu|relu|gelu|tanh|sigmoid|identity
  std::string norm_position = "pre";  // pre|post
  double dropout = 0.0;               // LinearAdapter output dropout / MHA attention dropout
  // RelPositionMultiHeadAttentionAdapter
  int64_t n_head = 1;
  std::optional<int64_t> proj_dim;  // nullopt = None (n_feat); < 1 = n_head; else P
  AdapterStrategyConfig strategy;

  static AdapterConfig linear(int64_t dim, const std::string& activation = "swish",
                              const std::string& norm_position = "pre", double dropout = 0.0);
  static AdapterConfig rel_pos_mha(int64_t n_head, std::optional<int64_t> proj_dim = std::nullopt,
                                   double dropout = 0.0);
};

// One named adapter as placed on a model: what ConformerCtcModel::add_adapter was given, and what
// adapter files, checkpoints and .nemo exports record (NeMo's cfg.adapters entry + placement).
struct AdapterSpec {
  std::string name;                // bare name (the ModuleDict key)
  std::string module = "encoder";  // encoder | decoder | encoder+decoder (NeMo's "module:name")
  std::vector<int64_t> layers;     // encoder layer indices; empty = every layer
  AdapterConfig config;
  bool enabled = true;
  // "name", "decoder:name" or "encoder+decoder:name", as add_adapter takes it.
  std::string full_name() const;
};

// What adapters share with their model: the dropout/stochastic-depth generator and the
// auxiliary losses registered during the current forward.
struct AdapterRuntime {
  GeneratorPtr gen;
  std::vector<Tensor> aux_losses;
};

// module = Sequential(LayerNorm, Linear(in,dim,no bias), act, Linear(dim,in,no bias)) for 'pre'
// (last Linear zeroed), or Sequential(Linear, act, Linear, LayerNorm) for 'post' (LayerNorm
// weight and bias zeroed); then Dropout. Returns the adapter output only (no residual).
class LinearAdapter : public nn::Module {
 public:
  LinearAdapter(int64_t in_features, int64_t dim, const std::string& activation,
                const std::string& norm_position, double dropout, Generator& init,
                GeneratorPtr dropout_gen);
  Tensor forward(const Tensor& x) const;

 private:
  std::string activation_;
  bool pre_;
  double dropout_;
  GeneratorPtr gen_;
  std::shared_ptr<ModuleList> module_;
  std::shared_ptr<LayerNorm> norm_;
  std::shared_ptr<nn::Linear> down_, up_;
};

// RelPositionMultiHeadAttention on pre_norm(x) with an optional inner width P (proj_dim):
// linear_q/k/v Linear(n_feat, P), linear_out Linear(P, n_feat) (zeroed), linear_pos
// Linear(n_feat, P, no bias), pos_bias_u/v [H, P/H] (zeroed). Returns the attention output only.
class RelPositionMultiHeadAttentionAdapter : public nn::Module {
 public:
  RelPositionMultiHeadAttentionAdapter(int64_t n_head, int64_t n_feat, std::optional<int64_t> proj_dim,
                                       double dropout_rate, Generator& init, GeneratorPtr dropout_gen);
  // x [B, T, n_feat], pos_emb [1, 2T-1, n_feat], att_mask Bool [B, T, T] or undefined.
  Tensor forward(const Tensor& x, const Tensor& pos_emb, const Tensor& att_mask) const;
  int64_t proj_dim() const { return h_ * d_k_; }

 private:
  int64_t h_, d_k_, n_feat_;
  double dropout_;
  GeneratorPtr gen_;
  Tensor pos_bias_u_, pos_bias_v_;
  std::shared_ptr<nn::Linear> linear_q_, linear_k_, linear_v_, linear_out_, linear_pos_;
  std::shared_ptr<LayerNorm> pre_norm_;
};

// x + strategy(out): stochastic depth and the L2 auxiliary loss apply only when `training`
// (the adapter's own mode; see AdapterSet::forward_post).
Tensor residual_add(const Tensor& x, Tensor out, const AdapterStrategyConfig& s, bool training,
                    AdapterRuntime& rt);

// One host module's adapters in insertion order, with enabled flags. Children are named by the
// adapter name, so state keys read "<name>.module.0.weight".
class AdapterSet : public nn::Module {
 public:
  explicit AdapterSet(std::shared_ptr<AdapterRuntime> rt) : rt_(std::move(rt)) {}
  // Builds the adapter for width d_model in `dtype` (enabled). Errors on a duplicate name.
  void add(const std::string& name, const AdapterConfig& cfg, int64_t d_model, DType dtype,
           Generator& init);
  bool has(const std::string& name) const;
  void set_enabled(const std::string& name, bool enabled);
  bool is_enabled(const std::string& name) const;
  std::vector<std::string> names() const;
  nn::Module& adapter(const std::string& name);
  bool any_enabled() const;

  // loc 'post' (and the decoder): y + LinearAdapter(y) for each enabled Linear adapter.
  Tensor forward_post(const Tensor& y) const;
  // loc 'mha': x + MHAAdapter(x, x, x) for each enabled MHA adapter (value = un-normed x).
  Tensor forward_mha(const Tensor& x, const Tensor& pos_emb, const Tensor& att_mask) const;

 private:
  struct Entry {
    std::string name;
    AdapterConfig cfg;
    bool enabled = true;
    std::shared_ptr<LinearAdapter> linear;
    std::shared_ptr<RelPositionMultiHeadAttentionAdapter> mha;
  };
  const Entry& entry(const std::string& name) const;
  std::shared_ptr<AdapterRuntime> rt_;
  std::vector<Entry> entries_;
};

}  // namespace asr::models
