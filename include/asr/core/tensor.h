#pragma once
// Tensor: a cheap handle (shared_ptr) to a TensorImpl = (storage, shape, strides, offset, dtype)
// plus the autograd fields. Views (reshape, transpose, permute, narrow, expand) share storage.
// All differentiable ops live in asr/ops/ops.h; this header holds construction, views and access.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "asr/core/device.h"
#include "asr/core/dtype.h"
#include "asr/core/error.h"
#include "asr/core/shape.h"
#include "asr/core/storage.h"

namespace asr {

namespace autograd {
struct Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;

  // Autograd. A leaf with requires_grad owns `grad` (allocated on first backward only);
  // a non-leaf has grad_fn. Frozen tensors have neither: no gradient memory ever.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaf: shared by every graph that uses it
  // True when `grad` is a caller-provided buffer (e.g. a view into one flat gradient buffer for
  // all adapter parameters): backward accumulates into it in place and zero_grad() zeroes it.
  bool grad_in_place = false;
  std::string name;                                // optional, for error messages and tests
};

class Generator;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- construction -------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::cpu());
  static Tensor arange(int64_t n, DType dtype = DType::I64, Device device = Device::cpu());
  // Copies `values` (converted to dtype) into a new CPU tensor of `shape`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
  // Normal(0, stddev) / Uniform(lo, hi) from a seeded generator (reproducible across runs).
  static Tensor randn(const Shape& shape, Generator& gen, double stddev = 1.0,
                      DType dtype = DType::F32);
  static Tensor rand(const Shape& shape, Generator& gen, double lo = 0.0, double hi = 1.0,
                     DType dtype = DType::F32);
  // Wraps memory the tensor does not own (e.g. a read-only mmap of frozen weights).
  static Tensor from_external(void* data, const Shape& shape, DType dtype, Device device,
                              std::function<void(void*)> deleter, bool read_only);

  // ---- metadata -----------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl()->shape; }
  const Shape& strides() const { return impl()->strides; }
  int64_t offset() const { return impl()->offset; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const { return impl()->dtype; }
  Device device() const { return impl()->storage->device(); }
  bool is_contiguous() const;
  bool read_only() const { return impl()->storage->read_only(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string describe() const;  // "f32[2, 3] cpu"

  // ---- raw access (CPU, or device pointers for kernels) -----------------------------------
  void* raw_data() const;  // pointer to element 0 of this view
  template <typename T>
  T* data() const { return static_cast<T*>(raw_data()); }
  double item() const;                    // single-element tensor -> double (any dtype)
  std::vector<double> to_vector() const;  // any dtype/device/layout -> row-major doubles
  std::vector<float> to_float_vector() const;

  // ---- autograd -------------------------------------------------------------------------
  bool requires_grad() const;  // leaf flag or has grad_fn
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl()->grad_fn == nullptr; }
  Tensor grad() const;  // undefined until a backward pass produced one
  void zero_grad();     // drops the grad (keeps no buffer); zeroes a buffer set by set_grad_buffer
  // Makes `buffer` (same shape, dtype, device; typically a view into a flat buffer) this leaf's
  // gradient storage: gradients are accumulated into it in place, so a whole parameter group's
  // gradients can be all-reduced or clipped as one contiguous tensor.
  void set_grad_buffer(const Tensor& buffer);
  void backward() const;                   // this must be a single-element tensor
  void backward(const Tensor& grad) const;  // seed gradient of the same shape
  Tensor detach() const;                    // same storage, no autograd history
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl()->grad_fn; }

  // ---- views (zero-copy, differentiable) -----------------------------------------------
  Tensor reshape(const Shape& shape) const;  // copies only if the layout requires it
  Tensor view(const Shape& shape) const;     // never copies; throws if not viewable
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;  // [start, end)
  Tensor select(int64_t dim, int64_t index) const;              // drops `dim`
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;  // broadcast size-1 dims (stride 0)
  Tensor contiguous() const;                // self if contiguous, else a differentiable copy

  // ---- conversion (differentiable for float->float) ------------------------------------
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;

  // In-place fill (no autograd; refuses read-only storage and leaves that require grad).
  Tensor& fill_(double value);
  // In-place copy of src (broadcast to this shape) into this view (no autograd).
  Tensor& copy_(const Tensor& src);

  const std::shared_ptr<TensorImpl>& impl() const {
    if (!impl_) throw Error("Tensor: use of an undefined tensor");
    return impl_;
  }
  const std::string& name() const { return impl()->name; }
  Tensor& set_name(std::string n) { impl()->name = std::move(n); return *this; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Makes a view TensorImpl sharing `base`'s storage (no autograd wiring).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

}  // namespace asr
