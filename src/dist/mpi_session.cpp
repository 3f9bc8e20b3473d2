// MpiSession: MPI initialised once per process (singleton init when not started by mpirun) and
// finalised when the process exits. Errors come back as asr::Error, not MPI's default abort.
#include "asr/dist/mpi_session.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "asr/core/error.h"

namespace asr::dist {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(str_cat("mpi: ", what, " failed: ", std::string(msg, static_cast<size_t>(len))));
}

// Registered with atexit once MPI is up: runs after main returns or exit() is called, so every
// rank finalises even on an error path (MPI_Finalize is skipped if someone else already did).
void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

MpiSession& MpiSession::get() {
  static MpiSession session;  // thread-safe one-time construction
  return session;
}

MpiSession::MpiSession() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("mpi: MPI_Init_thread failed");
    std::atexit(finalize_at_exit);
    if (provided < MPI_THREAD_FUNNELED) throw Error("mpi: the MPI library does not provide MPI_THREAD_FUNNELED");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  MPI_Comm local = MPI_COMM_NULL;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
        "MPI_Comm_split_type");
  check(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank (node)");
  check(MPI_Comm_size(local, &local_size_), "MPI_Comm_size (node)");
  MPI_Comm_free(&local);
}

void MpiSession::abort_job(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] true if it did
}

void MpiSession::barrier() const { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

std::vector<int64_t> MpiSession::allgather(int64_t value) const {
  std::vector<int64_t> out(static_cast<size_t>(size_));
  check(MPI_Allgather(&value, 1, MPI_INT64_T, out.data(), 1, MPI_INT64_T, MPI_COMM_WORLD), "MPI_Allgather");
  return out;
}

std::vector<double> MpiSession::allgather(double value) const {
  std::vector<double> out(static_cast<size_t>(size_));
  check(MPI_Allgather(&value, 1, MPI_DOUBLE, out.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD), "MPI_Allgather");
  return out;
}

std::string MpiSession::broadcast(const std::string& value) const {
  int64_t len = rank_ == 0 ? static_cast<int64_t>(value.size()) : 0;
  check(MPI_Bcast(&len, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = rank_ == 0 ? value : std::string(static_cast<size_t>(len), '\0');
  // MPI counts are int: send in pieces so strings over 2 GiB work too.
  constexpr int64_t kPiece = 1 << 30;
  for (int64_t pos = 0; pos < len; pos += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, len - pos));
    check(MPI_Bcast(out.data() + pos, n, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
  return out;
}

}  // namespace asr::dist
