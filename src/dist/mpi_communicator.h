#pragma once
// The MPI communicator (CPU tensors over a duplicate of MPI_COMM_WORLD). Private to src/: built by
// make_communicator and by the NCCL communicator, which sends its unique id, host values and
// strings over MPI.
#include <memory>

#include "asr/dist/communicator.h"

namespace asr::dist {

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds);

// After a collective failed (e.g. an NCCL timeout), MPI_Finalize at exit would wait forever for
// the stuck peers: this makes the process end the whole job with MPI_Abort at exit instead.
// (The MPI communicator does this itself for its own failed collectives.)
void abort_mpi_job_at_exit();

}  // namespace asr::dist
