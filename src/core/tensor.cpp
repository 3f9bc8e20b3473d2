#include "asr/core/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/core/generator.h"
#include "../ops/op_utils.h"

namespace asr {

using autograd::record_fn;
using autograd::Node;

// ---- construction -----------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) ASR_CHECK(d >= 0, "Tensor::empty", "negative dimension in ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  impl->storage = std::make_shared<Storage>(bytes, device, &backend_for(device).allocator());
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  backend_for(device).fill(t, value);
  return t;
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  std::vector<double> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.0);
  return from_vector(v, {n}, dtype).to(device);
}

namespace {
template <typename Src>
Tensor from_values(const Src* values, size_t count, const Shape& shape, DType src_dtype, DType dtype) {
  ASR_CHECK(static_cast<int64_t>(count) == shape_numel(shape), "Tensor::from_vector", count,
            " values do not fill shape ", shape_str(shape));
  Tensor src = Tensor::from_external(const_cast<Src*>(values), shape, src_dtype, Device::cpu(),
                                     nullptr, true);
  Tensor out = Tensor::empty(shape, dtype);
  backend_for(Device::cpu()).copy(src, out);
  return out;
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return from_values(values.data(), values.size(), shape, DType::F64, dtype);
}
Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  return from_values(values.data(), values.size(), shape, DType::F32, DType::F32);
}
Tensor Tensor::from_vector(const std::vector<int64_t>& values, const Shape& shape) {
  return from_values(values.data(), values.size(), shape, DType::I64, DType::I64);
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, double stddev, DType dtype) {
  int64_t n = shape_numel(shape);
  uint64_t base = gen.reserve(static_cast<uint64_t>(n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = stddev * Generator::normal(gen.seed(), base + i);
  return from_vector(v, shape, dtype);
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, double lo, double hi, DType dtype) {
  int64_t n = shape_numel(shape);
  uint64_t base = gen.reserve(static_cast<uint64_t>(n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * Generator::uniform(gen.seed(), base + i);
  return from_vector(v, shape, dtype);
}

Tensor Tensor::from_external(void* data, const Shape& shape, DType dtype, Device device,
                             std::function<void(void*)> deleter, bool read_only) {
  auto impl = std::make_shared<TensorImpl>();
  size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  impl->storage = std::make_shared<Storage>(data, bytes, device, std::move(deleter), read_only);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

// ---- metadata and access ----------------------------------------------------------------------

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return str_cat(dtype_name(dtype()), shape_str(shape()), " ", device().str());
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl()->storage->data()) + offset() * static_cast<int64_t>(dtype_size(dtype()));
}

std::vector<double> Tensor::to_vector() const {
  Tensor host = device().is_cpu() ? *this : to(Device::cpu());
  Tensor out = Tensor::empty(shape(), DType::F64);
  backend_for(Device::cpu()).copy(host, out);
  const double* p = out.data<double>();
  return std::vector<double>(p, p + numel());
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<double> d = to_vector();
  return std::vector<float>(d.begin(), d.end());
}

double Tensor::item() const {
  ASR_CHECK(numel() == 1, "Tensor::item", "needs a single-element tensor, got ", describe());
  return to_vector()[0];
}

// ---- autograd -----------------------------------------------------------------------------------

bool Tensor::requires_grad() const { return impl()->requires_grad || impl()->grad_fn != nullptr; }

Tensor& Tensor::set_requires_grad(bool r) {
  ASR_CHECK(is_leaf(), "Tensor::set_requires_grad", "only leaf tensors can change requires_grad");
  ASR_CHECK(!r || is_floating(dtype()), "Tensor::set_requires_grad", "integer tensor ", describe(),
            " cannot require grad");
  impl()->requires_grad = r;
  if (!r) {
    impl()->grad.reset();
    impl()->grad_in_place = false;
  }
  return *this;
}

Tensor Tensor::grad() const { return impl()->grad ? Tensor(impl()->grad) : Tensor(); }
void Tensor::zero_grad() {
  if (impl()->grad_in_place) {
    Tensor(impl()->grad).fill_(0.0);
  } else {
    impl()->grad.reset();
  }
}

void Tensor::set_grad_buffer(const Tensor& buffer) {
  ASR_CHECK(is_leaf() && impl()->requires_grad, "set_grad_buffer", "tensor ", describe(),
            " is not a leaf that requires grad");
  ASR_CHECK(buffer.shape() == shape() && buffer.dtype() == dtype() && buffer.device() == device(),
            "set_grad_buffer", "buffer ", buffer.describe(), " does not match ", describe());
  impl()->grad = buffer.impl();
  impl()->grad_in_place = true;
}

void Tensor::backward() const {
  ASR_CHECK(numel() == 1, "backward", "implicit gradient needs a single-element tensor, got ",
            describe(), "; pass a seed gradient");
  backward(Tensor::ones(shape(), dtype(), device()));
}

void Tensor::backward(const Tensor& grad) const {
  ASR_CHECK(requires_grad(), "backward", "tensor ", describe(), " does not require grad");
  ASR_CHECK(grad.shape() == shape(), "backward", "seed gradient ", grad.describe(),
            " does not match ", describe());
  autograd::run_backward(*this, grad);
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

// ---- views ------------------------------------------------------------------------------------

namespace {

// Strides for viewing `t` as `shape` without copying, or empty if impossible.
bool view_strides(const Tensor& t, const Shape& shape, Shape& out) {
  if (t.is_contiguous()) {
    out = contiguous_strides(shape);
    return true;
  }
  // General case: match groups of old dims that are contiguous among themselves.
  const Shape& os = t.shape();
  const Shape& ost = t.strides();
  out.assign(shape.size(), 0);
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = ost.empty() ? 1 : ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t td = static_cast<int64_t>(os.size()) - 1; td >= 0; --td) {
    tensor_numel *= os[td];
    if (td == 0 || (os[td - 1] != 1 && ost[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (td > 0) {
        chunk_base_stride = ost[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      ASR_CHECK(infer < 0, op, "only one dimension can be -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      ASR_CHECK(out[i] >= 0, op, "invalid dimension in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    ASR_CHECK(known > 0 && numel % known == 0, op, "cannot infer -1 in ", shape_str(shape),
              " for ", numel, " elements");
    out[infer] = numel / known;
  }
  ASR_CHECK(shape_numel(out) == numel, op, "shape ", shape_str(shape), " is invalid for ", numel,
            " elements");
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& new_shape) const {
  Shape shp = infer_shape(new_shape, numel(), "view");
  Shape st;
  ASR_CHECK(view_strides(*this, shp, st), "view", "cannot view ", describe(), " with strides ",
            shape_str(strides()), " as ", shape_str(shp), "; use reshape()");
  Tensor out = make_view(*this, shp, st, offset());
  Shape in_shape = shape();
  return record_fn(out, "view", {this}, [in_shape](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.reshape(in_shape)};
  });
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape shp = infer_shape(new_shape, numel(), "reshape");
  Shape st;
  if (view_strides(*this, shp, st)) return view(shp);
  return contiguous().view(shp);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  ASR_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute", "got ", dims.size(),
            " dims for ", describe());
  Shape shp(dims.size()), st(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], dim(), "permute");
    ASR_CHECK(inverse[d] < 0, "permute", "repeated dim ", d);
    inverse[d] = static_cast<int64_t>(i);
    shp[i] = shape()[d];
    st[i] = strides()[d];
  }
  Tensor out = make_view(*this, shp, st, offset());
  return record_fn(out, "permute", {this}, [inverse](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = wrap_dim(d0, dim(), "transpose");
  d1 = wrap_dim(d1, dim(), "transpose");
  std::vector<int64_t> p(static_cast<size_t>(dim()));
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[d0], p[d1]);
  return permute(p);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim(), "narrow");
  if (start < 0) start += shape()[d];
  ASR_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow", "range [", start,
            ", ", start + length, ") out of bounds for dim ", d, " of ", describe());
  Shape shp = shape();
  shp[d] = length;
  Tensor out = make_view(*this, shp, strides(), offset() + start * strides()[d]);
  Shape in_shape = shape();
  return record_fn(out, "narrow", {this}, [in_shape, d, start, length](const Tensor& g, const Node&) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
    gx.narrow(d, start, length).copy_(g);
    return std::vector<Tensor>{gx};
  });
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const {
  d = wrap_dim(d, dim(), "slice");
  int64_t n = shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  return narrow(d, start, end - start);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select");
  if (index < 0) index += shape()[d];
  ASR_CHECK(index >= 0 && index < shape()[d], "select", "index ", index, " out of range for dim ",
            d, " of ", describe());
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape shp = shape();
  shp.insert(shp.begin() + d, 1);
  Shape st = strides();
  int64_t s = d < dim() ? strides()[d] * shape()[d] : 1;
  st.insert(st.begin() + d, s);
  Tensor out = make_view(*this, shp, st, offset());
  Shape in_shape = shape();
  return record_fn(out, "unsqueeze", {this}, [in_shape](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.reshape(in_shape)};
  });
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze");
  ASR_CHECK(shape()[d] == 1, "squeeze", "dim ", d, " of ", describe(), " is not of size 1");
  Shape shp = shape(), st = strides();
  shp.erase(shp.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = make_view(*this, shp, st, offset());
  Shape in_shape = shape();
  return record_fn(out, "squeeze", {this}, [in_shape](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.reshape(in_shape)};
  });
}

Tensor Tensor::expand(const Shape& new_shape) const {
  ASR_CHECK(new_shape.size() >= shape().size(), "expand", "cannot expand ", describe(), " to ",
            shape_str(new_shape));
  size_t lead = new_shape.size() - shape().size();
  Shape st(new_shape.size(), 0);
  for (size_t i = 0; i < new_shape.size(); ++i) {
    if (i < lead) continue;
    int64_t src = shape()[i - lead];
    ASR_CHECK(src == new_shape[i] || src == 1, "expand", "cannot expand ", describe(), " to ",
              shape_str(new_shape));
    st[i] = src == 1 && new_shape[i] != 1 ? 0 : strides()[i - lead];
  }
  Tensor out = make_view(*this, new_shape, st, offset());
  Shape in_shape = shape();
  return record_fn(out, "expand", {this}, [in_shape](const Tensor& g, const Node&) {
    return std::vector<Tensor>{ops::detail::sum_to_shape(g, in_shape)};
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  backend_for(device()).copy(*this, out);
  return record_fn(out, "clone", {this}, [](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g};
  });
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), t, device());
  backend_for(device()).copy(*this, out);
  if (!is_floating(t) || !is_floating(dtype())) return out;  // no gradient through casts to int
  DType src = dtype();
  return record_fn(out, "to_dtype", {this}, [src](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.to(src)};
  });
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor src = contiguous();
  Tensor out = Tensor::empty(shape(), dtype(), d);
  if (src.device().is_cpu()) {
    backend_for(d).copy_from_host(src.raw_data(), out);
  } else if (d.is_cpu()) {
    backend_for(src.device()).copy_to_host(src, out.raw_data());
  } else {  // device to device through the host
    Tensor host = src.to(Device::cpu());
    backend_for(d).copy_from_host(host.raw_data(), out);
  }
  Device from = device();
  return record_fn(out, "to_device", {this}, [from](const Tensor& g, const Node&) {
    return std::vector<Tensor>{g.to(from)};
  });
}

Tensor& Tensor::fill_(double value) {
  ASR_CHECK(!read_only(), "fill_", "tensor ", describe(), " is read-only (frozen weights)");
  ASR_CHECK(!(is_leaf() && impl()->requires_grad && autograd::grad_enabled()), "fill_",
            "in-place write to a leaf that requires grad; use NoGradGuard");
  backend_for(device()).fill(*this, value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  ASR_CHECK(!read_only(), "copy_", "tensor ", describe(), " is read-only (frozen weights)");
  ASR_CHECK(src.device() == device(), "copy_", "device mismatch: ", src.describe(), " into ", describe());
  ASR_CHECK(!(is_leaf() && impl()->requires_grad && autograd::grad_enabled()), "copy_",
            "in-place write to a leaf that requires grad; use NoGradGuard");
  Tensor s = src.shape() == shape() ? src : src.detach().expand(shape());
  backend_for(device()).copy(s, *this);
  return *this;
}

}  // namespace asr
