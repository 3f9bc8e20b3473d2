// MpiSession: rank 0 of 1 without mpirun (MPI singleton init), and real collectives when this
// binary is started twice by mpirun (the test relaunches itself).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "support/mpi_launch.h"
#include "asr/dist/mpi_session.h"


namespace {

using asr::dist::MpiSession;

TEST(MpiSession, WithoutMpirunIsRankZeroOfOne) {
  MpiSession& s = MpiSession::get();
  EXPECT_EQ(&s, &MpiSession::get());
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.size(), 1);
  EXPECT_EQ(s.local_rank(), 0);
  EXPECT_EQ(s.local_size(), 1);
  s.barrier();
  EXPECT_EQ(s.allgather(int64_t{42}), std::vector<int64_t>{42});
  EXPECT_EQ(s.allgather(2.5), std::vector<double>{2.5});
  EXPECT_EQ(s.broadcast("only me"), "only me");
  EXPECT_EQ(s.broadcast(""), "");
}

// Runs in both ranks of the mpirun below (disabled: a plain test run has one rank).
TEST(MpiSessionChild, DISABLED_TwoRanksExchangeValues) {
  MpiSession& s = MpiSession::get();
  ASSERT_EQ(s.size(), 2);
  EXPECT_EQ(s.local_size(), 2);  // one node
  EXPECT_EQ(s.local_rank(), s.rank());
  EXPECT_EQ(s.allgather(int64_t{10 + s.rank()}), (std::vector<int64_t>{10, 11}));
  EXPECT_EQ(s.allgather(0.5 * s.rank()), (std::vector<double>{0.0, 0.5}));
  const std::string big(3 << 20, 'x');  // several MiB in one broadcast
  EXPECT_EQ(s.broadcast(s.rank() == 0 ? "from rank 0" : "ignored"), "from rank 0");
  EXPECT_EQ(s.broadcast(s.rank() == 0 ? big : std::string()), big);
  s.barrier();
  std::printf("child rank %d of %d ok\n", s.rank(), s.size());
}

TEST(MpiSession, TwoRanksUnderMpirun) {
  const auto [ok, out] = asr::test::run_self_under_mpirun("MpiSessionChild.*");
  EXPECT_TRUE(ok) << out;
  EXPECT_NE(out.find("child rank 0 of 2 ok"), std::string::npos) << out;
  EXPECT_NE(out.find("child rank 1 of 2 ok"), std::string::npos) << out;
}

}  // namespace
