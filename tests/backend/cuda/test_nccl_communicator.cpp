// The NCCL communicator on one GPU, one rank (CI machines have at most one GPU; two ranks on one
// GPU are refused by NCCL): the factory's choice, all-reduce and broadcast ordered after the
// default-stream kernels that wrote the buffer, the byte counter, host collectives over MPI, and
// the same argument errors as the other communicators. Skips without a GPU.
#include <gtest/gtest.h>

#include "asr/backend/backend.h"
#include "asr/dist/communicator.h"
#include "support/test_util.h"

namespace {

using asr::Device;
using asr::DType;
using asr::Tensor;
using asr::dist::CommunicatorOptions;

std::unique_ptr<asr::dist::Communicator> make_gpu_communicator(const char* backend) {
  CommunicatorOptions options;
  options.backend = backend;
  options.device = Device::cuda(0);
  options.timeout_seconds = 60;
  return asr::dist::make_communicator(options);
}

TEST(NcclCommunicator, OneRankAllReduceAndBroadcastOnTheGpu) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  auto comm = make_gpu_communicator("auto");  // a CUDA device in a CUDA build: nccl
  ASSERT_STREQ(comm->name(), "nccl");
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->device(), Device::cuda(0));

  // 16 Mi floats filled by a default-stream kernel just before the collective: NCCL's stream
  // must wait for it, or it would see the zeros.
  const int64_t n = int64_t{1} << 24;
  Tensor big = Tensor::zeros({n}, DType::F32, Device::cuda(0));
  big.fill_(3.0);
  comm->all_reduce_sum(big);
  const std::vector<double> got = big.to_vector();
  EXPECT_EQ(got.front(), 3.0);
  EXPECT_EQ(got[static_cast<size_t>(n / 2)], 3.0);
  EXPECT_EQ(got.back(), 3.0);
  EXPECT_EQ(comm->bytes_all_reduced(), n * 4);

  const std::vector<double> values{0.5, -1.25, 1e10, 7};
  Tensor d = Tensor::from_vector(values, {2, 2}, DType::F64).to(Device::cuda(0));
  comm->all_reduce_mean(d);
  EXPECT_EQ(d.to_vector(), values);
  EXPECT_EQ(comm->bytes_all_reduced(), n * 4 + 32);

  Tensor ids = Tensor::from_vector(std::vector<int64_t>{4, 5, 6}, {3}).to(Device::cuda(0));
  comm->broadcast(ids, 0);
  EXPECT_EQ(ids.to_vector(), (std::vector<double>{4, 5, 6}));

  EXPECT_EQ(comm->all_reduce_sum(std::vector<double>{2, 3}), (std::vector<double>{2, 3}));
  EXPECT_EQ(comm->all_reduce_max(std::vector<double>{-2}), (std::vector<double>{-2}));
  EXPECT_EQ(comm->broadcast_string("cfg", 0), "cfg");
  EXPECT_EQ(comm->gather_strings("state", 0), (std::vector<std::string>{"state"}));
  comm->barrier();
}

TEST(NcclCommunicator, RefusesTensorsItCannotMove) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  auto comm = make_gpu_communicator("nccl");
  Tensor on_cpu = Tensor::ones({4});
  EXPECT_ASR_ERROR(comm->all_reduce_sum(on_cpu), "nccl: all_reduce: the tensor is on cpu");
  Tensor ints = Tensor::from_vector(std::vector<int64_t>{1}, {1}).to(Device::cuda(0));
  EXPECT_ASR_ERROR(comm->all_reduce_sum(ints), "needs an f32 or f64 tensor, got i64");
  Tensor t = Tensor::ones({4}, DType::F32, Device::cuda(0));
  EXPECT_ASR_ERROR(comm->broadcast(t, 1), "root 1 is not a rank of 1");
  comm->all_reduce_sum(t);  // still usable after refused arguments
  EXPECT_EQ(t.to_vector(), (std::vector<double>{1, 1, 1, 1}));
}

TEST(NcclCommunicator, CommunicatorsCanBeMadeAgainAfterOneIsDestroyed) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  for (int round = 0; round < 2; ++round) {
    auto comm = make_gpu_communicator("nccl");
    Tensor t = Tensor::full({8}, 1.0 + round, DType::F32, Device::cuda(0));
    comm->all_reduce_sum(t);
    EXPECT_EQ(t.to_vector(), std::vector<double>(8, 1.0 + round)) << "round " << round;
  }
}

}  // namespace
