// build_shards: a bounded, ordered pipeline. Workers take utterances in plan order and compute
// them into a ring of result slots; the calling thread consumes the slots in the same order and
// is the only one touching HDF5 (which is not thread-safe). Order in, order out: the files do
// not depend on the number of threads.
#include "asr/data/shard_builder.h"

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "asr/audio/features.h"
#include "asr/core/error.h"
#include "shard_utterance.h"

namespace asr::data {
namespace {

int64_t log2_exact(int64_t factor) {
  int64_t stages = 0;
  while ((int64_t{1} << stages) < factor) ++stages;
  if (factor < 1 || (int64_t{1} << stages) != factor)
    throw Error(str_cat("shard: subsampling factor ", factor, " is not a power of two"));
  return stages;
}

struct WorkItem {
  int64_t shard;  // position in shard_indices
  const PlannedUtterance* utt;
};

// Results in order from `threads` workers, at most `window` ahead of the consumer.
class OrderedPipeline {
 public:
  OrderedPipeline(const std::vector<WorkItem>& items, int64_t threads, int64_t window,
                  std::function<detail::UtteranceResult(const WorkItem&)> fn)
      : items_(items), fn_(std::move(fn)), window_(window), slots_(static_cast<size_t>(window)),
        slot_index_(static_cast<size_t>(window), -1) {
    for (int64_t t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~OrderedPipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    for (auto& w : workers_) w.join();
  }

  detail::UtteranceResult take(int64_t i) {
    std::unique_lock<std::mutex> lock(mu_);
    const size_t s = static_cast<size_t>(i % window_);
    ready_.wait(lock, [&] { return slot_index_[s] == i; });
    detail::UtteranceResult r = std::move(slots_[s]);
    slot_index_[s] = -1;
    consumed_ = i + 1;
    lock.unlock();
    space_.notify_all();
    return r;
  }

 private:
  void work() {
    for (;;) {
      int64_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [&] { return stop_ || next_ >= static_cast<int64_t>(items_.size()) || next_ < consumed_ + window_; });
        if (stop_ || next_ >= static_cast<int64_t>(items_.size())) return;
        i = next_++;
      }
      detail::UtteranceResult r = fn_(items_[static_cast<size_t>(i)]);
      {
        std::lock_guard<std::mutex> lock(mu_);
        const size_t s = static_cast<size_t>(i % window_);
        slots_[s] = std::move(r);
        slot_index_[s] = i;
      }
      ready_.notify_all();
    }
  }

  const std::vector<WorkItem>& items_;
  std::function<detail::UtteranceResult(const WorkItem&)> fn_;
  int64_t window_;
  std::vector<detail::UtteranceResult> slots_;
  std::vector<int64_t> slot_index_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  int64_t next_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::string skipped_to_json(const std::vector<SkipRecord>& records) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& r : records)
    j.push_back({{"where", r.where}, {"reason", skip_reason_key(r.reason)}, {"detail", r.detail}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<SkipRecord> skipped_from_json(const std::string& json, const std::string& source) {
  std::vector<SkipRecord> out;
  try {
    const auto j = nlohmann::json::parse(json);
    if (!j.is_array()) throw Error("not an array");
    for (const auto& e : j)
      out.push_back({skip_reason_from_key(e.at("reason").get<std::string>()), e.at("where").get<std::string>(),
                     e.at("detail").get<std::string>()});
  } catch (const std::exception& e) {
    throw Error(str_cat(source, ": attribute 'skipped' is not a list of skipped items (", e.what(), ")"));
  }
  return out;
}

bool shard_is_complete(const std::string& path, const PlannedShard& planned, const ShardHeader& header,
                       std::string* why) {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  ShardSummary s;
  try {
    s = inspect_shard(path);
  } catch (const Error& e) {
    return no(e.what());
  }
  if (s.header.preprocessor_fingerprint != header.preprocessor_fingerprint) return no("preprocessor fingerprint differs");
  if (s.header.tokenizer_fingerprint != header.tokenizer_fingerprint) return no("tokenizer fingerprint differs");
  if (s.header.n_mels != header.n_mels || s.header.feature_dtype != header.feature_dtype)
    return no("n_mels or feature dtype differs");
  if (s.header.source_fingerprint != planned.source_fingerprint) return no("planned from other manifest items");
  int64_t skipped = 0;
  try {
    skipped = static_cast<int64_t>(skipped_from_json(s.skipped_json, path).size());
  } catch (const Error& e) {
    return no(e.what());
  }
  if (s.utterances + skipped != static_cast<int64_t>(planned.items.size()))
    return no(str_cat(s.utterances, " utterances + ", skipped, " skipped, planned ", planned.items.size()));
  return true;
}

ShardBuildResult build_shards(const ShardPlan& plan, const std::vector<int64_t>& shard_indices, const std::string& dir,
                              const audio::FeatureExtractor& fx, const ShardBuildOptions& opt) {
  const int64_t stages = log2_exact(opt.subsampling_factor);
  ShardBuildResult result;
  ShardProgress progress;
  progress.shards_total = static_cast<int64_t>(shard_indices.size());

  // Resume: finished shards of the same plan are kept; everything else is (re)built.
  std::vector<WorkItem> work;
  std::vector<bool> needs_work(shard_indices.size(), false);
  for (size_t k = 0; k < shard_indices.size(); ++k) {
    const int64_t idx = shard_indices[k];
    if (idx < 0 || idx >= static_cast<int64_t>(plan.shards.size()))
      throw Error(str_cat("shard: shard index ", idx, " is not in the plan"));
    const PlannedShard& ps = plan.shards[static_cast<size_t>(idx)];
    ShardHeader header = opt.header;
    header.source_fingerprint = ps.source_fingerprint;
    if (shard_is_complete(dir + "/" + ps.file, ps, header)) continue;
    needs_work[k] = true;
    for (size_t i = 0; i < ps.items.size(); ++i)
      work.push_back({static_cast<int64_t>(k), &ps.items[i]});
  }
  auto compute = [&](const WorkItem& w) { return detail::compute_utterance(*w.utt, fx, stages); };
  std::unique_ptr<OrderedPipeline> pipeline;
  if (opt.threads > 1 && work.size() > 1)
    pipeline = std::make_unique<OrderedPipeline>(work, opt.threads, 4 * opt.threads, compute);

  auto report = [&] {
    ++progress.shards_done;
    if (opt.on_shard_done) opt.on_shard_done(progress);
  };
  // One shard at a time is published (fsync, rename, checksum) in the background while the next
  // one is written; its result takes its place in order.
  std::future<ShardInfo> publishing;
  size_t publishing_slot = 0;
  auto wait_published = [&] {
    if (!publishing.valid()) return;
    result.shards[publishing_slot].info = publishing.get();
    report();
  };
  size_t next_work = 0;
  for (size_t k = 0; k < shard_indices.size(); ++k) {
    const int64_t idx = shard_indices[k];
    const PlannedShard& ps = plan.shards[static_cast<size_t>(idx)];
    const std::string path = dir + "/" + ps.file;
    if (!needs_work[k]) {
      wait_published();
      ShardSummary s = inspect_shard(path);
      result.shards.push_back({idx, true, {ps.file, s.utterances, s.frames, s.duration, file_checksum(path)}});
      report();
      continue;
    }
    ShardHeader header = opt.header;
    header.source_fingerprint = ps.source_fingerprint;
    ShardWriter writer(path, header);
    std::vector<SkipRecord> skipped;
    for (size_t i = 0; i < ps.items.size(); ++i, ++next_work) {
      const WorkItem& w = work[next_work];
      detail::UtteranceResult r = pipeline ? pipeline->take(static_cast<int64_t>(next_work)) : compute(w);
      if (r.error) std::rethrow_exception(r.error);
      result.audio_seconds += r.duration;
      progress.audio_seconds += r.duration;
      if (!r.ok) {
        skipped.push_back(std::move(r.skip));
        continue;
      }
      writer.add(r.features.data(), r.frames, w.utt->tokens, r.duration, w.utt->text, w.utt->audio_path);
      ++result.utterances_written;
      ++progress.utterances;
    }
    std::function<ShardInfo()> publish = writer.close(skipped_to_json(skipped));
    wait_published();
    result.shards.push_back({idx, false, ShardInfo()});
    publishing_slot = result.shards.size() - 1;
    publishing = std::async(std::launch::async, std::move(publish));
  }
  wait_published();
  return result;
}

}  // namespace asr::data
