// --version: the build and the libraries it runs on.
#include <H5public.h>
#include <cblas.h>
#include <mpi.h>

#include "asr/backend/backend.h"
#include "commands.h"

namespace asr::cli {

std::string version_text() {
  unsigned h5maj = 0, h5min = 0, h5rel = 0;
  H5get_libversion(&h5maj, &h5min, &h5rel);
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(mpi, &len);  // allowed before MPI_Init
  std::string mpi_line(mpi, static_cast<size_t>(len));
  if (auto nl = mpi_line.find_first_of("\n,"); nl != std::string::npos) mpi_line.resize(nl);
  std::string text = std::string("asr-adapt ") + ASR_VERSION + "\n";
  text += std::string("CPU backend: ") + openblas_get_config() + "\n";
  text += cuda_build_info() + "\n";
  text += "HDF5 " + std::to_string(h5maj) + "." + std::to_string(h5min) + "." + std::to_string(h5rel) + "\n";
  text += "MPI: " + mpi_line;
  return text;
}

}  // namespace asr::cli
