#pragma once
// Reverse-mode autograd: each differentiable op that sees an input requiring grad records a Node
// (its backward closure + saved tensors). backward() replays the recorded nodes in reverse
// topological order (a dynamic tape). Inputs that do not require grad get a null edge: their
// gradient is never computed (a frozen weight's dW is skipped, not computed and discarded).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::autograd {

struct Node {
  virtual ~Node() = default;
  // One edge per forward input: the node producing that input's gradient consumer, or null when
  // the input needs no gradient.
  std::vector<std::shared_ptr<Node>> next;
  // Returns one gradient per forward input (undefined where next[i] is null).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Drops saved tensors once the node has run (keeps peak memory down).
  virtual void release() {}
  virtual const char* name() const = 0;
  bool needs_grad(size_t i) const { return i < next.size() && next[i] != nullptr; }
};

// A backward closure. Ops capture exactly what their backward needs.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, const Node& self)>;

struct FunctionNode : Node {
  FunctionNode(const char* n, BackwardFn fn) : op_name(n), backward(std::move(fn)) {}
  std::vector<Tensor> apply(const Tensor& grad_output) override { return backward(grad_output, *this); }
  void release() override { backward = nullptr; }
  const char* name() const override { return op_name; }
  const char* op_name;
  BackwardFn backward;
};

// Terminal node of a leaf that requires grad: accumulates into leaf.grad.
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : leaf(std::move(leaf)) {}
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  const char* name() const override { return "AccumulateGrad"; }
  std::weak_ptr<TensorImpl> leaf;
};

// Gradient recording on/off for this thread (no tape at all when off).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

// True if recording is on and any input requires grad (then the op must build a node).
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
// Wires `node` to `inputs` and makes it `output`'s grad_fn. Call only when any_requires_grad.
void record(Tensor& output, std::shared_ptr<Node> node, std::initializer_list<const Tensor*> inputs);
void record(Tensor& output, std::shared_ptr<Node> node, const std::vector<const Tensor*>& inputs);
// Convenience: record a FunctionNode if needed; returns output.
Tensor record_fn(Tensor output, const char* name, std::initializer_list<const Tensor*> inputs,
                 BackwardFn fn);

// Runs the backward pass from `root` seeded with `grad` (same shape as root).
void run_backward(const Tensor& root, const Tensor& grad);

}  // namespace asr::autograd
