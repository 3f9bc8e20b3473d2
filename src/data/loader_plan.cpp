#include "loader_plan.h"

#include <algorithm>
#include <numeric>

#include "asr/core/error.h"
#include "asr/core/generator.h"

namespace asr::data::detail {
namespace {

// Independent random streams per (seed, epoch, purpose): hashing twice decorrelates them
// (Generator::hash is linear in its arguments before mixing).
uint64_t stream_key(uint64_t seed, int64_t epoch, uint64_t stream) {
  return Generator::hash(Generator::hash(seed, static_cast<uint64_t>(epoch)), 0x5eed0000ull + stream);
}

// Fisher-Yates driven by the counter-based hash: the same permutation on every machine.
template <typename T>
void shuffle(std::vector<T>& v, uint64_t key) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(Generator::hash(key, i) % i);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace

EpochPlanner::EpochPlanner(const std::vector<double>& durations, const PlanSettings& settings)
    : durations_(durations), s_(settings) {
  ASR_CHECK(s_.batch_size > 0 || s_.batch_duration > 0, "loader",
            "set batch_size or batch_duration (both are 0)");
  ASR_CHECK(s_.batch_size >= 0 && s_.batch_duration >= 0, "loader",
            "batch_size ", s_.batch_size, " and batch_duration ", s_.batch_duration,
            " must not be negative");
  ASR_CHECK(s_.world_size >= 1 && s_.rank >= 0 && s_.rank < s_.world_size, "loader", "rank ",
            s_.rank, " is not in [0, world_size ", s_.world_size, ")");
  const int64_t n = static_cast<int64_t>(durations_.size());
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double da = durations_[static_cast<size_t>(a)], db = durations_[static_cast<size_t>(b)];
    return da != db ? da < db : a < b;
  });
  const int64_t k = std::max<int64_t>(1, std::min(s_.num_buckets, std::max<int64_t>(n, 1)));
  for (int64_t b = 0; b < k; ++b) {
    const int64_t lo = b * n / k, hi = (b + 1) * n / k;
    if (hi > lo) buckets_.emplace_back(order.begin() + lo, order.begin() + hi);
  }
}

std::vector<std::vector<int64_t>> EpochPlanner::global_batches(int64_t epoch) const {
  std::vector<std::vector<int64_t>> batches;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    std::vector<int64_t> ids = buckets_[b];
    if (s_.shuffle) shuffle(ids, stream_key(s_.seed, epoch, 1 + b));
    std::vector<int64_t> cur;
    double longest = 0.0;
    for (int64_t id : ids) {
      const double d = durations_[static_cast<size_t>(id)];
      const double l = std::max(longest, d);
      const bool full = (s_.batch_size > 0 && static_cast<int64_t>(cur.size()) >= s_.batch_size) ||
                        (s_.batch_duration > 0 && static_cast<double>(cur.size() + 1) * l > s_.batch_duration);
      if (!cur.empty() && full) {
        batches.push_back(std::move(cur));
        cur.clear();
        longest = 0.0;
      }
      cur.push_back(id);
      longest = std::max(longest, d);
    }
    if (!cur.empty()) batches.push_back(std::move(cur));
  }
  if (s_.shuffle) shuffle(batches, stream_key(s_.seed, epoch, 0));
  return batches;
}

std::vector<std::vector<int64_t>> EpochPlanner::rank_batches(int64_t epoch) const {
  std::vector<std::vector<int64_t>> all = global_batches(epoch);
  const size_t ws = static_cast<size_t>(s_.world_size);
  const size_t rounds = all.size() / ws;
  std::vector<std::vector<int64_t>> mine;
  mine.reserve(rounds);
  for (size_t r = 0; r < rounds; ++r) mine.push_back(std::move(all[r * ws + static_cast<size_t>(s_.rank)]));
  return mine;
}

}  // namespace asr::data::detail
