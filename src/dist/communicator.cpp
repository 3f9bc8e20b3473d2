// The communicator factory, the shared argument checks, the mean on top of the sum, and the
// single-process communicator (every collective is the identity).
#include "asr/dist/communicator.h"

#include "asr/backend/backend.h"
#include "asr/core/error.h"
#include "asr/dist/mpi_session.h"
#include "collective_checks.h"
#include "mpi_communicator.h"
#include "nccl_entry.h"

namespace asr::dist {

void check_collective_tensor(const Tensor& t, Device device, const char* op, bool float_only) {
  ASR_CHECK(t.defined(), op, "the tensor is undefined");
  ASR_CHECK(t.device() == device, op, "the tensor is on ", t.device().str(),
            " but this communicator works on ", device.str());
  ASR_CHECK(!float_only || t.dtype() == DType::F32 || t.dtype() == DType::F64, op,
            "needs an f32 or f64 tensor, got ", dtype_name(t.dtype()));
  ASR_CHECK(t.is_contiguous(), op, "needs a contiguous tensor, got ", t.describe());
  ASR_CHECK(!t.read_only(), op, "cannot write into read-only storage (", t.describe(), ")");
}

void check_root(int root, int size, const char* op) {
  ASR_CHECK(root >= 0 && root < size, op, "root ", root, " is not a rank of ", size);
}

void Communicator::all_reduce_mean(Tensor& t) {
  all_reduce_sum(t);
  if (size() > 1) backend_for(t.device()).affine(t, 1.0 / size(), 0.0, t);  // in place, elementwise
}

namespace {

class SingleCommunicator final : public Communicator {
 public:
  explicit SingleCommunicator(Device device) : device_(device) {}
  const char* name() const override { return "single"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  Device device() const override { return device_; }

  // One rank sends nothing, so bytes_all_reduced() stays 0; the checks still run so a bad
  // argument fails the same way with one process as with many.
  void all_reduce_sum(Tensor& t) override {
    check_collective_tensor(t, device_, "single: all_reduce", true);
  }
  void broadcast(Tensor& t, int root) override {
    check_collective_tensor(t, device_, "single: broadcast", false);
    check_root(root, 1, "single: broadcast");
  }
  std::vector<double> all_reduce_sum(const std::vector<double>& values) override { return values; }
  std::vector<double> all_reduce_max(const std::vector<double>& values) override { return values; }
  std::string broadcast_string(const std::string& value, int root) override {
    check_root(root, 1, "single: broadcast_string");
    return value;
  }
  std::vector<std::string> gather_strings(const std::string& value, int root) override {
    check_root(root, 1, "single: gather_strings");
    return {value};
  }
  void barrier() override {}

 private:
  Device device_;
};

}  // namespace

std::unique_ptr<Communicator> make_single_communicator() {
  return std::make_unique<SingleCommunicator>(Device::cpu());
}

std::unique_ptr<Communicator> make_communicator(const CommunicatorOptions& options) {
  ASR_CHECK(options.timeout_seconds > 0, "communicator", "timeout_seconds must be positive, got ",
            options.timeout_seconds);
  std::string backend = options.backend;
  if (backend == "auto") {
    // One process needs no collectives at all (and no NCCL set-up), whatever its device.
    if (MpiSession::get().size() == 1)
      backend = "single";
    else
      backend = options.device.is_cuda() && cuda_backend_compiled() ? "nccl" : "mpi";
  }
  if (backend == "single") {
    ASR_CHECK(MpiSession::get().size() == 1, "communicator", "backend 'single' cannot serve ",
              MpiSession::get().size(), " MPI ranks; use 'mpi' or 'nccl' (or 'auto')");
    return std::make_unique<SingleCommunicator>(options.device);
  }
  if (backend == "mpi") {
    ASR_CHECK(options.device.is_cpu(), "communicator",
              "backend 'mpi' moves CPU tensors, but the "
              "device is ",
              options.device.str(), "; use backend 'nccl' for CUDA tensors");
    return make_mpi_communicator(options.timeout_seconds);
  }
  if (backend == "nccl") {
    ASR_CHECK(options.device.is_cuda(), "communicator",
              "backend 'nccl' moves CUDA tensors, but "
              "the device is ",
              options.device.str(), "; use backend 'mpi' for CPU tensors");
    return make_nccl_communicator(options);
  }
  throw Error(str_cat("communicator: unknown backend '", options.backend,
                      "' (expected auto, single, mpi or nccl)"));
}

}  // namespace asr::dist
