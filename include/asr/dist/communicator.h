#pragma once
// Collective communication for data-parallel training, behind one interface:
//   single: one process (every collective is the identity);
//   mpi:    CPU tensors over a duplicate of MPI_COMM_WORLD (non-blocking collectives polled
//           against a deadline, so a dead or hung peer becomes an error naming the collective
//           instead of a hang);
//   nccl:   CUDA tensors over NCCL on a stream the communicator owns (ncclUniqueId broadcast
//           over MPI; one GPU per local rank; async error checking against the same deadline);
//           host values, strings and barriers go over MPI.
// Every collective returns when its result is in place (the NCCL stream is synchronised). A
// collective that does not complete within timeout_seconds throws asr::Error
// ("<backend>: all_reduce of N bytes did not complete within T s on rank R of S: a peer rank
// died or hung"); the communicator must not be used after that: the caller exits non-zero.
// The trainer all-reduces exactly one buffer per step: the flat gradient of the trainable
// (adapter) parameters. The frozen backbone is never communicated.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "asr/core/tensor.h"

namespace asr::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual const char* name() const = 0;  // "single" | "mpi" | "nccl"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // rank within the node
  virtual int local_size() const = 0;
  // The device this communicator's tensors live on: CPU for mpi, the requested device for single,
  // for nccl CUDA:local_rank (or CUDA:0 when the rank sees one GPU, e.g. Slurm --gpus-per-task).
  virtual Device device() const = 0;

  // In place over a contiguous f32/f64 tensor on device(): the element-wise sum over ranks,
  // divided by size() for the mean.
  virtual void all_reduce_sum(Tensor& t) = 0;
  void all_reduce_mean(Tensor& t);
  // In place: every rank gets root's values (contiguous, any dtype; e.g. initial adapter weights).
  virtual void broadcast(Tensor& t, int root) = 0;
  // Host values (loss sums, token counts, flags): element-wise sum / max over ranks (the same
  // length on every rank).
  virtual std::vector<double> all_reduce_sum(const std::vector<double>& values) = 0;
  virtual std::vector<double> all_reduce_max(const std::vector<double>& values) = 0;
  // root's bytes on every rank (configs, small states).
  virtual std::string broadcast_string(const std::string& value, int root) = 0;
  // Every rank's bytes, in rank order, on root (other ranks get an empty vector); per-rank
  // RNG/loader states for rank 0's checkpoint.
  virtual std::vector<std::string> gather_strings(const std::string& value, int root) = 0;
  virtual void barrier() = 0;

  // Bytes of tensors this rank has all-reduced so far (for the per-step log; 0 for single).
  int64_t bytes_all_reduced() const { return bytes_all_reduced_; }

 protected:
  int64_t bytes_all_reduced_ = 0;
};

struct CommunicatorOptions {
  std::string backend = "auto";  // auto (nccl for a CUDA device in a CUDA build, else mpi when
                                 // the MPI world has > 1 rank, else single) | single | mpi | nccl
  Device device = Device::cpu();
  double timeout_seconds = 300;  // a collective not finished by then is an error naming it
};

// Builds the communicator; MPI is initialised through MpiSession. Throws asr::Error naming what
// is missing (e.g. nccl requested in a build without CUDA, or no GPU for this local rank).
std::unique_ptr<Communicator> make_communicator(const CommunicatorOptions& options);

// The trivial one (CPU), for tests and single-process runs.
std::unique_ptr<Communicator> make_single_communicator();

}  // namespace asr::dist
