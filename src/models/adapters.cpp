#include "asr/models/adapters.h"

#include <cmath>

#include "asr/autograd/node.h"
#include "asr/models/rel_pos_attention.h"
#include "asr/ops/ops.h"

namespace asr::models {

std::string AdapterSpec::full_name() const {
  return module == "encoder" || module.empty() ? name : module + ":" + name;
}


AdapterConfig AdapterConfig::linear(int64_t dim, const std::string& activation,
                                    const std::string& norm_position, double dropout) {
  AdapterConfig c;
  c.type = AdapterType::Linear;
  c.dim = dim;
  c.activation = activation;
  c.norm_position = norm_position;
  c.dropout = dropout;
  return c;
}

AdapterConfig AdapterConfig::rel_pos_mha(int64_t n_head, std::optional<int64_t> proj_dim,
                                         double dropout) {
  AdapterConfig c;
  c.type = AdapterType::RelPositionMHA;
  c.n_head = n_head;
  c.proj_dim = proj_dim;
  c.dropout = dropout;
  return c;
}

namespace {

bool known_activation(const std::string& a) {
  return a == "swish" || a == "silu" || a == "relu" || a == "gelu" || a == "tanh" ||
         a == "sigmoid" || a == "identity";
}

Tensor activate(const std::string& a, const Tensor& x) {
  if (a == "swish" || a == "silu") return ops::silu(x);
  if (a == "relu") return ops::relu(x);
  if (a == "gelu") return ops::gelu(x);
  if (a == "tanh") return ops::tanh(x);
  if (a == "sigmoid") return ops::sigmoid(x);
  return x;  // identity
}

void zero_(const Tensor& t) {
  autograd::NoGradGuard ng;
  t.detach().fill_(0.0);
}

}  // namespace

// ---- LinearAdapter ------------------------------------------------------------------------------

LinearAdapter::LinearAdapter(int64_t in_features, int64_t dim, const std::string& activation,
                             const std::string& norm_position, double dropout, Generator& init,
                             GeneratorPtr dropout_gen)
    : activation_(activation), pre_(norm_position == "pre"), dropout_(dropout),
      gen_(std::move(dropout_gen)) {
  ASR_CHECK(in_features >= 1 && dim >= 1, "LinearAdapter", "in_features ", in_features,
            " and dim ", dim, " must be positive");
  if (!known_activation(activation))
    throw Error("LinearAdapter: unsupported activation '" + activation +
                "' (supported: swish, silu, relu, gelu, tanh, sigmoid, identity)");
  if (norm_position != "pre" && norm_position != "post")
    throw Error("LinearAdapter: norm_position must be 'pre' or 'post', got '" + norm_position + "'");
  ASR_CHECK(dropout >= 0.0 && dropout < 1.0, "LinearAdapter", "dropout must be in [0, 1), got ",
            dropout);
  module_ = register_module("module", std::make_shared<ModuleList>());
  // Index 2 ('pre') / 1 ('post') is the parameter-free activation.
  if (pre_) {
    norm_ = module_->add("0", std::make_shared<LayerNorm>(in_features));
    down_ = module_->add("1", std::make_shared<nn::Linear>(in_features, dim, false, init));
    up_ = module_->add("3", std::make_shared<nn::Linear>(dim, in_features, false, init));
    zero_(up_->weight());  // zero contribution at insertion
  } else {
    down_ = module_->add("0", std::make_shared<nn::Linear>(in_features, dim, false, init));
    up_ = module_->add("2", std::make_shared<nn::Linear>(dim, in_features, false, init));
    norm_ = module_->add("3", std::make_shared<LayerNorm>(in_features));
    for (auto& [n, t] : norm_->named_parameters()) zero_(t);
  }
}

Tensor LinearAdapter::forward(const Tensor& x) const {
  Tensor h = pre_ ? norm_->forward(x) : x;
  h = up_->forward(activate(activation_, down_->forward(h)));
  if (!pre_) h = norm_->forward(h);
  return ops::dropout(h, dropout_, is_training(), *gen_);
}

// ---- RelPositionMultiHeadAttentionAdapter -------------------------------------------------------

RelPositionMultiHeadAttentionAdapter::RelPositionMultiHeadAttentionAdapter(
    int64_t n_head, int64_t n_feat, std::optional<int64_t> proj_dim, double dropout_rate,
    Generator& init, GeneratorPtr dropout_gen)
    : h_(n_head), d_k_(0), n_feat_(n_feat), dropout_(dropout_rate), gen_(std::move(dropout_gen)) {
  ASR_CHECK(n_head >= 1 && n_feat >= 1, "RelPositionMultiHeadAttentionAdapter", "n_head ", n_head,
            " and n_feat ", n_feat, " must be positive");
  ASR_CHECK(dropout_rate >= 0.0 && dropout_rate < 1.0, "RelPositionMultiHeadAttentionAdapter",
            "dropout_rate must be in [0, 1), got ", dropout_rate);
  int64_t p = n_feat;
  if (proj_dim) p = *proj_dim < 1 ? n_head : *proj_dim;
  ASR_CHECK(p % n_head == 0, "RelPositionMultiHeadAttentionAdapter", "proj_dim ", p,
            " is not divisible by n_head ", n_head);
  d_k_ = p / n_head;
  // Registration order gives NeMo's state-dict order: own parameters, then the children.
  pos_bias_u_ = register_parameter("pos_bias_u", Tensor::zeros({n_head, d_k_}));
  pos_bias_v_ = register_parameter("pos_bias_v", Tensor::zeros({n_head, d_k_}));
  linear_q_ = register_module("linear_q", std::make_shared<nn::Linear>(n_feat, p, true, init));
  linear_k_ = register_module("linear_k", std::make_shared<nn::Linear>(n_feat, p, true, init));
  linear_v_ = register_module("linear_v", std::make_shared<nn::Linear>(n_feat, p, true, init));
  linear_out_ = register_module("linear_out", std::make_shared<nn::Linear>(p, n_feat, true, init));
  linear_pos_ = register_module("linear_pos", std::make_shared<nn::Linear>(n_feat, p, false, init));
  pre_norm_ = register_module("pre_norm", std::make_shared<LayerNorm>(n_feat));
  zero_(linear_out_->weight());
  zero_(linear_out_->bias());
}

Tensor RelPositionMultiHeadAttentionAdapter::forward(const Tensor& x_in, const Tensor& pos_emb,
                                                     const Tensor& att_mask) const {
  const int64_t n_feat = n_feat_;
  ASR_CHECK(x_in.dim() == 3 && x_in.size(2) == n_feat, "RelPositionMultiHeadAttentionAdapter",
            "expects x [B, T, ", n_feat, "], got ", x_in.describe());
  const int64_t b = x_in.size(0), t = x_in.size(1), p = h_ * d_k_;
  ASR_CHECK(pos_emb.dim() == 3 && pos_emb.size(0) == 1 && pos_emb.size(1) == 2 * t - 1 &&
                pos_emb.size(2) == n_feat,
            "RelPositionMultiHeadAttentionAdapter", "pos_emb must be [1, ", 2 * t - 1, ", ", n_feat,
            "], got ", pos_emb.describe());
  // q, k and v are all pre_norm(x) (NeMo norms query, key and value separately: same tensor).
  const Tensor x = pre_norm_->forward(x_in);
  auto heads = [&](const Tensor& y, int64_t rows) {
    return y.view({y.size(0), rows, h_, d_k_}).permute({0, 2, 1, 3});
  };
  Tensor q = heads(linear_q_->forward(x), t);
  Tensor k = heads(linear_k_->forward(x), t);
  Tensor v = heads(linear_v_->forward(x), t);
  Tensor pe = heads(linear_pos_->forward(pos_emb), 2 * t - 1);
  Tensor q_u = ops::add(q, pos_bias_u_.view({1, h_, 1, d_k_}));
  Tensor q_v = ops::add(q, pos_bias_v_.view({1, h_, 1, d_k_}));
  Tensor ac = ops::matmul(q_u, k.transpose(-2, -1));
  Tensor bd = ops::matmul(q_v, pe.transpose(-2, -1));  // before rel_shift (fused below)
  Tensor attn = ops::rel_pos_softmax(ac, bd, att_mask, 1.0 / std::sqrt(static_cast<double>(d_k_)));
  attn = ops::dropout(attn, dropout_, is_training(), *gen_);
  Tensor ctx = ops::matmul(attn, v);  // [B, H, T, d_k]
  return linear_out_->forward(ctx.transpose(1, 2).reshape({b, t, p}));
}

// ---- strategy -----------------------------------------------------------------------------------

Tensor residual_add(const Tensor& x, Tensor out, const AdapterStrategyConfig& s, bool training,
                    AdapterRuntime& rt) {
  const double p = s.stochastic_depth;
  ASR_CHECK(p >= 0.0 && p <= 1.0, "ResidualAddAdapterStrategy", "stochastic_depth must be in [0, 1], got ", p);
  if (training && p > 0.0) {
    // One Bernoulli(1-p) draw for the whole tensor, rescaled by 1/(1-p) (torchvision-style).
    const double survival = 1.0 - p;
    const bool keep = Generator::uniform(rt.gen->seed(), rt.gen->reserve(1)) < survival;
    out = ops::scale(out, keep ? 1.0 / survival : 0.0);
  }
  Tensor result = ops::add(x, out);
  if (training && s.l2_lambda > 0.0) {
    // l2_lambda * mean over the batch of the per-sample sum of squares of (x - result) = out.
    const Tensor sq = ops::mul(out, out).reshape({out.size(0), -1});
    rt.aux_losses.push_back(ops::scale(ops::mean(ops::sum(sq, {1})), s.l2_lambda));
  }
  return result;
}

// ---- AdapterSet -----------------------------------------------------------------------------------

void AdapterSet::add(const std::string& name, const AdapterConfig& cfg, int64_t d_model, DType dtype,
                     Generator& init) {
  if (name.empty() || name.find('.') != std::string::npos || name.find(':') != std::string::npos)
    throw Error("add_adapter: invalid adapter name '" + name + "' (no '.', ':' or empty)");
  if (has(name)) throw Error("add_adapter: an adapter named '" + name + "' already exists");
  Entry e;
  e.name = name;
  e.cfg = cfg;
  std::shared_ptr<nn::Module> m;
  if (cfg.type == AdapterType::Linear) {
    e.linear = std::make_shared<LinearAdapter>(d_model, cfg.dim, cfg.activation, cfg.norm_position,
                                               cfg.dropout, init, rt_->gen);
    m = e.linear;
  } else {
    e.mha = std::make_shared<RelPositionMultiHeadAttentionAdapter>(cfg.n_head, d_model, cfg.proj_dim,
                                                                   cfg.dropout, init, rt_->gen);
    m = e.mha;
  }
  if (dtype != DType::F32) convert_floating_state(*m, dtype);
  m->train(is_training());
  register_module(name, m);
  entries_.push_back(std::move(e));
}

bool AdapterSet::has(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return true;
  return false;
}

const AdapterSet::Entry& AdapterSet::entry(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e;
  throw Error("adapters: no adapter named '" + name + "'");
}

void AdapterSet::set_enabled(const std::string& name, bool enabled) {
  for (auto& e : entries_)
    if (e.name == name) {
      e.enabled = enabled;
      return;
    }
  throw Error("adapters: no adapter named '" + name + "'");
}

bool AdapterSet::is_enabled(const std::string& name) const { return entry(name).enabled; }

std::vector<std::string> AdapterSet::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.name);
  return out;
}

nn::Module& AdapterSet::adapter(const std::string& name) {
  const Entry& e = entry(name);
  if (e.linear) return *e.linear;
  return *e.mha;
}

bool AdapterSet::any_enabled() const {
  for (const auto& e : entries_)
    if (e.enabled) return true;
  return false;
}

// The strategy (stochastic depth, L2 loss) follows the adapter's own mode. NeMo checks the host
// layer's, which is the same whenever the whole model trains; when only the adapters train
// (NeMo's freeze() + unfreeze_enabled_adapters() under Lightning >= 2.2, whose fit loop no longer
// calls model.train()) the host stays in eval mode and NeMo would silently skip both.
Tensor AdapterSet::forward_post(const Tensor& y) const {
  Tensor r = y;
  for (const auto& e : entries_)
    if (e.enabled && e.linear)
      r = residual_add(r, e.linear->forward(r), e.cfg.strategy, e.linear->is_training(), *rt_);
  return r;
}

Tensor AdapterSet::forward_mha(const Tensor& x, const Tensor& pos_emb, const Tensor& att_mask) const {
  Tensor r = x;
  for (const auto& e : entries_)
    if (e.enabled && e.mha)
      r = residual_add(r, e.mha->forward(r, pos_emb, att_mask), e.cfg.strategy, e.mha->is_training(), *rt_);
  return r;
}

}  // namespace asr::models
