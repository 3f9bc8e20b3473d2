#pragma once
// The process's MPI environment. Rank, world size and local rank come from MPI itself (a process
// started without mpirun is rank 0 of 1 through MPI's singleton init), never from hand-parsed
// environment variables. The distributed-training issue builds its communicators on this.
#include <cstdint>
#include <string>
#include <vector>

namespace asr::dist {

class MpiSession {
 public:
  // Initialises MPI on first use (MPI_Init_thread, MPI_THREAD_FUNNELED); finalised at exit.
  static MpiSession& get();
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank within the node (MPI_Comm_split_type)
  int local_size() const { return local_size_; }
  void barrier() const;
  // Every rank's value, in rank order.
  std::vector<int64_t> allgather(int64_t value) const;
  std::vector<double> allgather(double value) const;
  // Rank 0's string on every rank.
  std::string broadcast(const std::string& value) const;
  // Ends every rank of the job now (MPI_Abort), for an error on one rank that its peers cannot
  // learn of: they would otherwise wait in their next collective until its timeout.
  [[noreturn]] static void abort_job(int exit_code);

 private:
  MpiSession();
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace asr::dist
