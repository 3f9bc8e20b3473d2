// MpiCommunicator: every collective is non-blocking (MPI_I*) and completed by polling MPI_Testall
// against a deadline, so a peer rank that died or hung becomes an asr::Error naming the
// collective, its size and this rank instead of a hang. Its traffic runs on a duplicate of
// MPI_COMM_WORLD, apart from MpiSession's own collectives. MPI_ERRORS_RETURN (set by MpiSession,
// inherited by the duplicate) turns MPI failures into error codes, which become asr::Error.
#include "mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "asr/core/error.h"
#include "asr/dist/mpi_session.h"
#include "collective_checks.h"

namespace asr::dist {
namespace {

using Clock = std::chrono::steady_clock;

// MPI counts are int: larger buffers go in pieces of this many elements.
constexpr int64_t kMaxPiece = int64_t{1} << 30;

std::string mpi_error_text(int rc) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return std::string(msg, static_cast<size_t>(len));
}

// What failed collectives leave behind. MPI cannot cancel a started collective, so if a peer
// joins late MPI still writes into its buffers: they are kept alive (never freed) rather than
// left dangling. A failure ends the job, so this holds at most a few buffers.
struct Abandoned {
  std::vector<std::shared_ptr<void>> buffers;
  std::vector<MPI_Request> requests;  // still pending when given up on
  bool unconditional = false;         // a failure elsewhere (NCCL): peers may be stuck anyway
};

Abandoned& abandoned() {
  static auto* a = new Abandoned();
  return *a;
}

// Runs at exit before MpiSession's MPI_Finalize (atexit handlers run in reverse order). That
// finalize waits for every rank, so with a peer that hung it would never return and the job would
// hang after all: unless the abandoned collectives did complete (the peer was only late), this
// ends the whole job with MPI_Abort instead, which makes mpirun exit non-zero at once.
void abort_at_exit_if_stuck() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  Abandoned& a = abandoned();
  int done = 0;
  if (!a.unconditional) {
    const auto grace = Clock::now() + std::chrono::seconds(1);
    while (!done && Clock::now() < grace) {
      if (MPI_Testall(static_cast<int>(a.requests.size()), a.requests.data(), &done,
                      MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        break;
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (done) return;
  std::fprintf(stderr,
               "asr-adapt: ending the MPI job with MPI_Abort: a collective failed on this "
               "rank, so its peers cannot finish cleanly\n");
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

void arm_abort_at_exit() {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(abort_at_exit_if_stuck); });
}

void abandon(std::vector<MPI_Request>& pending, std::shared_ptr<void> buffer) {
  arm_abort_at_exit();
  Abandoned& a = abandoned();
  if (buffer) a.buffers.push_back(std::move(buffer));
  for (MPI_Request r : pending)
    if (r != MPI_REQUEST_NULL) a.requests.push_back(r);
}

MPI_Datatype mpi_float_type(DType dtype) { return dtype == DType::F64 ? MPI_DOUBLE : MPI_FLOAT; }

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds) : timeout_(timeout_seconds) {
    const MpiSession& session = MpiSession::get();
    rank_ = session.rank();
    size_ = session.size();
    local_rank_ = session.local_rank();
    local_size_ = session.local_size();
    MPI_Request request = MPI_REQUEST_NULL;
    std::vector<MPI_Request> requests;
    check(MPI_Comm_idup(MPI_COMM_WORLD, &comm_, &request), "MPI_Comm_idup", "set-up");
    requests.push_back(request);
    wait(requests, "MPI_Comm_idup", "set-up", nullptr);
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", "set-up");
  }

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    // Local in practice; collectives still pending after a timeout complete (or not) on their own.
    if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }

  const char* name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  Device device() const override { return Device::cpu(); }

  void all_reduce_sum(Tensor& t) override {
    check_collective_tensor(t, Device::cpu(), "mpi: all_reduce", true);
    const std::string what = str_cat("all_reduce of ", t.nbytes(), " bytes");
    const size_t elem = dtype_size(t.dtype());
    char* base = static_cast<char*>(t.raw_data());
    std::vector<MPI_Request> requests;
    // Every piece is started before any is waited for: MPI orders them, and they overlap.
    for (int64_t pos = 0; pos < t.numel(); pos += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, t.numel() - pos));
      MPI_Request r = MPI_REQUEST_NULL;
      const int rc = MPI_Iallreduce(MPI_IN_PLACE, base + pos * static_cast<int64_t>(elem), n,
                                    mpi_float_type(t.dtype()), MPI_SUM, comm_, &r);
      if (rc != MPI_SUCCESS) {
        abandon(requests, std::make_shared<Tensor>(t));
        check(rc, "MPI_Iallreduce", what);
      }
      requests.push_back(r);
    }
    wait(requests, "MPI_Iallreduce", what, std::make_shared<Tensor>(t));
    bytes_all_reduced_ += static_cast<int64_t>(t.nbytes());
  }

  void broadcast(Tensor& t, int root) override {
    check_collective_tensor(t, Device::cpu(), "mpi: broadcast", false);
    check_root(root, size_, "mpi: broadcast");
    broadcast_bytes(static_cast<char*>(t.raw_data()), static_cast<int64_t>(t.nbytes()), root,
                    std::make_shared<Tensor>(t));
  }

  std::vector<double> all_reduce_sum(const std::vector<double>& values) override {
    return reduce_host(values, MPI_SUM, "all_reduce_sum");
  }
  std::vector<double> all_reduce_max(const std::vector<double>& values) override {
    return reduce_host(values, MPI_MAX, "all_reduce_max");
  }

  std::string broadcast_string(const std::string& value, int root) override {
    check_root(root, size_, "mpi: broadcast_string");
    auto length = std::make_shared<int64_t>(rank_ == root ? static_cast<int64_t>(value.size()) : 0);
    MPI_Request r = MPI_REQUEST_NULL;
    const int rc = MPI_Ibcast(length.get(), 1, MPI_INT64_T, root, comm_, &r);
    started(rc, r, "MPI_Ibcast", "broadcast_string (length)", length);
    auto out = std::make_shared<std::string>(
        rank_ == root ? value : std::string(static_cast<size_t>(*length), '\0'));
    broadcast_bytes(out->data(), *length, root, out);
    return *out;
  }

  std::vector<std::string> gather_strings(const std::string& value, int root) override {
    check_root(root, size_, "mpi: gather_strings");
    ASR_CHECK(value.size() <= static_cast<size_t>(INT_MAX), "mpi: gather_strings", "a string of ",
              value.size(), " bytes exceeds MPI's int count");
    auto sizes = std::make_shared<std::vector<int>>(static_cast<size_t>(size_));
    auto mine = std::make_shared<int>(static_cast<int>(value.size()));
    MPI_Request request = MPI_REQUEST_NULL;
    int rc = MPI_Igather(mine.get(), 1, MPI_INT, sizes->data(), 1, MPI_INT, root, comm_, &request);
    started(rc, request, "MPI_Igather", "gather_strings (sizes)", sizes);
    // Only root's displacements matter; other ranks pass empty arrays.
    auto displs = std::make_shared<std::vector<int>>(static_cast<size_t>(size_), 0);
    int64_t total = 0;
    if (rank_ == root) {
      for (size_t i = 0; i < sizes->size(); ++i) {
        (*displs)[i] = static_cast<int>(std::min<int64_t>(total, INT_MAX));
        total += (*sizes)[i];
      }
    }
    // Decided on root alone, so the other ranks still join (and then time out, naming the call).
    ASR_CHECK(total <= INT_MAX, "mpi: gather_strings", "the ", total, " bytes gathered on rank ",
              root, " exceed MPI's int count");
    auto send = std::make_shared<std::string>(value);
    auto recv = std::make_shared<std::string>(static_cast<size_t>(total), '\0');
    struct Buffers {
      std::shared_ptr<std::string> send, recv;
      std::shared_ptr<std::vector<int>> sizes, displs;
    };
    rc = MPI_Igatherv(send->data(), static_cast<int>(send->size()), MPI_CHAR, recv->data(),
                      sizes->data(), displs->data(), MPI_CHAR, root, comm_, &request);
    started(rc, request, "MPI_Igatherv", str_cat("gather_strings of ", value.size(), " bytes"),
            std::make_shared<Buffers>(Buffers{send, recv, sizes, displs}));
    if (rank_ != root) return {};
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(size_));
    for (size_t i = 0; i < sizes->size(); ++i)
      out.push_back(
          recv->substr(static_cast<size_t>((*displs)[i]), static_cast<size_t>((*sizes)[i])));
    return out;
  }

  void barrier() override {
    MPI_Request r = MPI_REQUEST_NULL;
    const int rc = MPI_Ibarrier(comm_, &r);
    started(rc, r, "MPI_Ibarrier", "barrier", nullptr);
  }

 private:
  void check(int rc, const char* call, const std::string& what) const {
    if (rc != MPI_SUCCESS)
      throw Error(str_cat("mpi: ", call, " (", what, ") failed on rank ", rank_, " of ", size_,
                          ": ", mpi_error_text(rc)));
  }

  // Polls `requests` until all complete. On an MPI error or at the deadline, `buffer` (whatever
  // the requests read or write) is kept alive forever and an error naming the call is thrown.
  void wait(std::vector<MPI_Request>& requests, const char* call, const std::string& what,
            std::shared_ptr<void> buffer) const {
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(timeout_);
    // Spin for the first 100 us (a small all-reduce finishes within that), then sleep between
    // polls, doubling the pause up to 1 ms: little CPU taken from the other ranks on the node.
    auto pause = std::chrono::microseconds(10);
    for (;;) {
      int done = 0;
      const int rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                                 MPI_STATUSES_IGNORE);
      if (rc != MPI_SUCCESS) {
        abandon(requests, std::move(buffer));
        check(rc, call, what);
      }
      if (done) return;
      const auto now = Clock::now();
      if (now >= deadline) {
        abandon(requests, std::move(buffer));
        throw Error(str_cat("mpi: ", what, " did not complete within ", timeout_, " s on rank ",
                            rank_, " of ", size_, ": a peer rank died or hung"));
      }
      if (now - start > std::chrono::microseconds(100)) {
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
      }
    }
  }

  // Checks the start of a one-call collective (`rc`), then waits for its `request`.
  void started(int rc, MPI_Request request, const char* call, const std::string& what,
               std::shared_ptr<void> buffer) const {
    check(rc, call, what);
    std::vector<MPI_Request> requests{request};
    wait(requests, call, what, std::move(buffer));
  }

  void broadcast_bytes(char* data, int64_t nbytes, int root, std::shared_ptr<void> buffer) {
    const std::string what = str_cat("broadcast of ", nbytes, " bytes from rank ", root);
    std::vector<MPI_Request> requests;
    for (int64_t pos = 0; pos < nbytes; pos += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, nbytes - pos));
      MPI_Request r = MPI_REQUEST_NULL;
      const int rc = MPI_Ibcast(data + pos, n, MPI_BYTE, root, comm_, &r);
      if (rc != MPI_SUCCESS) {
        abandon(requests, buffer);
        check(rc, "MPI_Ibcast", what);
      }
      requests.push_back(r);
    }
    wait(requests, "MPI_Ibcast", what, std::move(buffer));
  }

  std::vector<double> reduce_host(const std::vector<double>& values, MPI_Op op, const char* name) {
    const std::string what = str_cat(name, " of ", values.size(), " values");
    if (values.size() > static_cast<size_t>(INT_MAX))
      throw Error(str_cat("mpi: ", what, ": more than MPI's int count"));
    auto out = std::make_shared<std::vector<double>>(values);
    MPI_Request r = MPI_REQUEST_NULL;
    const int rc = MPI_Iallreduce(MPI_IN_PLACE, out->data(), static_cast<int>(out->size()),
                                  MPI_DOUBLE, op, comm_, &r);
    started(rc, r, "MPI_Iallreduce", what, out);
    return *out;
  }

  double timeout_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace

void abort_mpi_job_at_exit() {
  arm_abort_at_exit();
  abandoned().unconditional = true;
}

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds) {
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

}  // namespace asr::dist
