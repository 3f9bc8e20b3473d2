// NcclCommunicator: CUDA tensors all-reduced / broadcast by NCCL on a stream this communicator
// owns; host values, strings and barriers go over its MPI communicator, which also carries the
// ncclUniqueId from rank 0. The NCCL communicator is non-blocking (config.blocking = 0), so init
// and every collective are completed by polling ncclCommGetAsyncError and cudaStreamQuery against
// the deadline: a dead or hung peer becomes an asr::Error (after ncclCommAbort) instead of a hang.
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "../../dist/collective_checks.h"
#include "../../dist/mpi_communicator.h"
#include "../../dist/nccl_entry.h"
#include "asr/backend/backend.h"
#include "asr/dist/communicator.h"
#include "cuda_check.h"

namespace asr::dist {
namespace {

using Clock = std::chrono::steady_clock;

// Which GPU this rank drives: one per local rank; a rank that sees exactly one GPU (Slurm's
// --gpus-per-task, or a single-GPU machine) uses it. Empty string = ok, else why not.
std::string pick_device(int local_rank, int local_size, int* device) {
  const int visible = cuda_device_count();
  if (visible == 0) return "no CUDA device is visible to this process";
  if (visible == 1) {
    *device = 0;
    return "";
  }
  if (local_rank < visible) {
    *device = local_rank;
    return "";
  }
  return str_cat("local rank ", local_rank, " of ", local_size, " needs its own GPU, but only ",
                 visible, " are visible on this node");
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(const CommunicatorOptions& options)
      : host_(make_mpi_communicator(options.timeout_seconds)), timeout_(options.timeout_seconds) {
    // Every rank learns whether all ranks can go on, so a rank without a GPU fails everywhere at
    // once instead of leaving the others to time out.
    const std::string problem = pick_device(host_->local_rank(), host_->local_size(), &device_);
    const double failed_ranks =
        host_->all_reduce_sum(std::vector<double>{problem.empty() ? 0.0 : 1.0})[0];
    if (!problem.empty())
      throw Error(str_cat("nccl: rank ", rank(), " of ", size(), ": ", problem));
    if (failed_ranks > 0)
      throw Error(str_cat("nccl: rank ", rank(), " of ", size(), ": ", failed_ranks,
                          " other rank(s) found no GPU to use (see their errors)"));
    CUDA_CHECK(cudaSetDevice(device_));  // NCCL and this rank's kernels use this device

    std::string id_bytes;
    if (rank() == 0) {
      ncclUniqueId id;
      const ncclResult_t r = ncclGetUniqueId(&id);
      // An empty broadcast tells the other ranks to give up too.
      id_bytes = r == ncclSuccess ? std::string(id.internal, sizeof id.internal) : std::string();
      if (r != ncclSuccess) {
        host_->broadcast_string(id_bytes, 0);
        throw Error(str_cat("nccl: ncclGetUniqueId failed on rank 0: ", ncclGetErrorString(r)));
      }
    }
    id_bytes = host_->broadcast_string(id_bytes, 0);
    if (id_bytes.size() != sizeof(ncclUniqueId))
      throw Error(str_cat("nccl: rank ", rank(), " of ", size(),
                          ": rank 0 could not make an NCCL unique id (see its error)"));
    ncclUniqueId id;
    std::copy(id_bytes.begin(), id_bytes.end(), id.internal);

    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&inputs_ready_, cudaEventDisableTiming));
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    check_start(ncclCommInitRankConfig(&comm_, size(), id, rank(), &config),
                "ncclCommInitRankConfig", "init");
    wait("init");
  }

  ~NcclCommunicator() override {
    if (comm_) {
      // Finalize flushes outstanding work; bounded like a collective, then abort if it stalls.
      bool clean = ncclCommFinalize(comm_) == ncclSuccess || last_async_error() == ncclInProgress;
      const auto deadline = Clock::now() + std::chrono::duration<double>(std::min(timeout_, 30.0));
      while (clean && last_async_error() == ncclInProgress && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      clean = clean && last_async_error() == ncclSuccess;
      if (clean)
        ncclCommDestroy(comm_);
      else
        ncclCommAbort(comm_);
    }
    if (inputs_ready_) cudaEventDestroy(inputs_ready_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  const char* name() const override { return "nccl"; }
  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  int local_rank() const override { return host_->local_rank(); }
  int local_size() const override { return host_->local_size(); }
  Device device() const override { return Device::cuda(device_); }

  void all_reduce_sum(Tensor& t) override {
    check_collective_tensor(t, device(), "nccl: all_reduce", true);
    const std::string what = str_cat("all_reduce of ", t.nbytes(), " bytes");
    cuda::DeviceGuard guard(device_);
    after_default_stream();
    void* data = t.raw_data();
    check_start(
        ncclAllReduce(data, data, static_cast<size_t>(t.numel()),
                      t.dtype() == DType::F64 ? ncclFloat64 : ncclFloat32, ncclSum, comm_, stream_),
        "ncclAllReduce", what);
    wait(what);
    bytes_all_reduced_ += static_cast<int64_t>(t.nbytes());
  }

  void broadcast(Tensor& t, int root) override {
    check_collective_tensor(t, device(), "nccl: broadcast", false);
    check_root(root, size(), "nccl: broadcast");
    const std::string what = str_cat("broadcast of ", t.nbytes(), " bytes from rank ", root);
    cuda::DeviceGuard guard(device_);
    after_default_stream();
    void* data = t.raw_data();
    check_start(ncclBroadcast(data, data, t.nbytes(), ncclInt8, root, comm_, stream_),
                "ncclBroadcast", what);
    wait(what);
  }

  std::vector<double> all_reduce_sum(const std::vector<double>& values) override {
    return host_->all_reduce_sum(values);
  }
  std::vector<double> all_reduce_max(const std::vector<double>& values) override {
    return host_->all_reduce_max(values);
  }
  std::string broadcast_string(const std::string& value, int root) override {
    return host_->broadcast_string(value, root);
  }
  std::vector<std::string> gather_strings(const std::string& value, int root) override {
    return host_->gather_strings(value, root);
  }
  void barrier() override { host_->barrier(); }

 private:
  ncclResult_t last_async_error() const {
    ncclResult_t async = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(comm_, &async);
    return r == ncclSuccess ? async : r;
  }

  // The backend's kernels run on the legacy default stream: the collective waits (on the GPU)
  // for everything queued there, e.g. the backward pass that wrote the gradients.
  void after_default_stream() {
    if (!comm_) throw Error("nccl: the communicator was aborted after an earlier error");
    CUDA_CHECK(cudaEventRecord(inputs_ready_, cudaStreamLegacy));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, inputs_ready_, 0));
  }

  // A non-blocking communicator answers ncclInProgress while the call is still being set up.
  void check_start(ncclResult_t r, const char* call, const std::string& what) {
    if (r == ncclSuccess || r == ncclInProgress) return;
    fail(str_cat(call, " (", what, ") failed"), ncclGetErrorString(r));
  }

  // Throws "nccl: <what> on rank R of S: <why> (<NCCL's last error>)" after aborting the
  // communicator, which frees NCCL's resources and stops its proxy threads.
  [[noreturn]] void fail(const std::string& what, const std::string& why) {
    std::string detail = comm_ ? ncclGetLastError(comm_) : "";
    if (!detail.empty()) detail = " (" + detail + ")";
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    if (size() > 1) abort_mpi_job_at_exit();  // peers may be stuck: MPI_Finalize would hang
    throw Error(str_cat("nccl: ", what, " on rank ", rank(), " of ", size(), ": ", why, detail));
  }

  // Polls until NCCL has no call in progress and stream_ is idle, NCCL reports an error, or the
  // deadline passes (then the communicator is aborted and the error names `what`).
  void wait(const std::string& what) {
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(timeout_);
    auto pause = std::chrono::microseconds(10);
    for (;;) {
      const ncclResult_t async = last_async_error();
      if (async != ncclSuccess && async != ncclInProgress)
        fail(what + " failed", ncclGetErrorString(async));
      if (async == ncclSuccess) {
        const cudaError_t q = cudaStreamQuery(stream_);
        if (q == cudaSuccess) return;
        if (q != cudaErrorNotReady) {
          (void)cudaGetLastError();
          fail(what + " failed on the GPU",
               str_cat(cudaGetErrorName(q), " (", cudaGetErrorString(q), ")"));
        }
      }
      const auto now = Clock::now();
      if (now >= deadline)
        fail(str_cat(what, " did not complete within ", timeout_, " s"),
             "a peer rank died or hung");
      if (now - start > std::chrono::microseconds(100)) {  // spin briefly, then back off to 1 ms
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
      }
    }
  }

  std::unique_ptr<Communicator> host_;  // MPI: unique id, host values, strings, barrier
  double timeout_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;       // NCCL's own stream, so collectives may overlap later
  cudaEvent_t inputs_ready_ = nullptr;  // marks the default stream's work before a collective
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const CommunicatorOptions& options) {
  return std::make_unique<NcclCommunicator>(options);
}

}  // namespace asr::dist
