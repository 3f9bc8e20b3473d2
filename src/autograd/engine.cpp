// The backward engine: collect the graph reachable from the root, count each node's consumers,
// then run nodes in reverse topological order, summing gradients that meet at a node.
#include <unordered_map>
#include <vector>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/ops/ops.h"

namespace asr::autograd {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

namespace {
std::shared_ptr<Node> edge_for(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  const auto& impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  // A leaf: one AccumulateGrad per leaf, shared by every op that uses it.
  auto acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(impl);
    impl->grad_accumulator = acc;
  }
  return acc;
}
}  // namespace

void record(Tensor& output, std::shared_ptr<Node> node, std::initializer_list<const Tensor*> inputs) {
  record(output, std::move(node), std::vector<const Tensor*>(inputs));
}

void record(Tensor& output, std::shared_ptr<Node> node, const std::vector<const Tensor*>& inputs) {
  node->next.clear();
  for (const Tensor* t : inputs) node->next.push_back(t ? edge_for(*t) : nullptr);
  output.impl()->grad_fn = std::move(node);
}

Tensor record_fn(Tensor output, const char* name, std::initializer_list<const Tensor*> inputs,
                 BackwardFn fn) {
  if (!any_requires_grad(inputs)) return output;
  record(output, std::make_shared<FunctionNode>(name, std::move(fn)), inputs);
  return output;
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_output) {
  auto impl = leaf.lock();
  if (!impl) return {};
  if (impl->grad_in_place) {
    // Caller-owned buffer (a view into a flat gradient buffer): add in place, never reallocate.
    Tensor buf(impl->grad);
    Tensor g = grad_output.shape() == impl->shape ? grad_output : grad_output.reshape(impl->shape);
    backend_for(buf.device()).binary(BinaryOp::Add, buf, g, buf);
  } else if (!impl->grad) {
    // The first gradient is owned by the leaf (copied if it aliases another tensor's memory).
    Tensor g = grad_output.is_contiguous() ? grad_output.detach() : grad_output.contiguous();
    if (g.shape() != impl->shape) g = g.reshape(impl->shape);
    impl->grad = g.impl();
  } else {
    Tensor sum = ops::add(Tensor(impl->grad), grad_output);
    impl->grad = sum.impl();
  }
  return {};
}

void run_backward(const Tensor& root, const Tensor& seed) {
  NoGradGuard no_grad;  // backward closures never record (no double backward)
  std::shared_ptr<Node> root_node = edge_for(root);
  if (!root_node) return;

  // Dependency counts: how many edges point at each node.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{root_node.get()};
  std::unordered_map<Node*, bool> seen{{root_node.get(), true}};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& nx : n->next) {
      if (!nx) continue;
      deps[nx.get()]++;
      if (!seen[nx.get()]) {
        seen[nx.get()] = true;
        stack.push_back(nx.get());
      }
    }
  }

  // Process nodes whose consumers have all delivered their gradients.
  std::unordered_map<Node*, Tensor> pending{{root_node.get(), seed}};
  std::vector<std::shared_ptr<Node>> ready{root_node};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    std::vector<Tensor> grads;
    auto it_grad = pending.find(node.get());
    if (it_grad != pending.end()) {  // a node whose consumers gave no gradient is skipped
      Tensor grad = it_grad->second;
      pending.erase(it_grad);
      grads = node->apply(grad);
    }
    node->release();
    for (size_t i = 0; i < node->next.size(); ++i) {
      const auto& nx = node->next[i];
      if (!nx) continue;
      if (i < grads.size() && grads[i].defined()) {
        auto it = pending.find(nx.get());
        if (it == pending.end()) {
          pending.emplace(nx.get(), grads[i]);
        } else {
          it->second = ops::add(it->second, grads[i]);
        }
      }
      if (--deps[nx.get()] == 0) ready.push_back(nx);
    }
  }
}

}  // namespace asr::autograd
