// The streaming loader: shard metadata read and checked once, the epoch plan (loader_plan.cpp),
// and a prefetch thread that assembles batches into a bounded queue. All HDF5 reads for batches
// happen on the thread that builds them (the prefetch thread, or next() when prefetch is 0).
#include "asr/data/loader.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "asr/data/shard_format.h"
#include "loader_plan.h"
#include "shard_reader.h"

namespace asr::data {

namespace {

constexpr size_t kMaxOpenShards = 64;  // file handles kept open between batches

struct Utterance {
  int32_t shard = 0;
  int64_t local = 0;  // index within its shard
};

using Plan = std::vector<std::vector<int64_t>>;

// What a shard file was when the loader accepted it. Any write, truncation or replacement
// changes one of these fields.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(str_cat(path, ": shard is gone since training started (", std::strerror(errno), ")"));
  return {st.st_dev, st.st_ino, st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

}  // namespace

struct Loader::Impl {
  LoaderConfig cfg;
  int64_t n_mels = 0;
  std::vector<detail::ShardMeta> shards;
  // Per shard: its file's stamp when accepted and index.json's checksum (for check_unchanged).
  std::vector<FileStamp> stamps;
  std::vector<std::string> checksums;
  int64_t checked_epoch = -1;  // the consumer's epoch whose shards were last found unchanged
  std::vector<Utterance> utts;
  std::unique_ptr<detail::EpochPlanner> planner;

  // Plans of recent epochs (the consumer asks for its epoch's size while the thread plans ahead).
  mutable std::mutex plan_mu;
  mutable std::map<int64_t, std::shared_ptr<const Plan>> plans;

  // Open shard files; touched only by the thread that builds batches.
  std::vector<std::unique_ptr<detail::ShardFile>> open;
  std::vector<uint64_t> last_use;
  uint64_t use_clock = 0;
  size_t open_count = 0;

  // Consumer position: the batch next() returns next.
  int64_t epoch = 0, index = 0;
  std::atomic<int64_t> built{0};

  // Prefetch queue. An item is a batch, the end of an epoch, or the error that stopped the thread.
  struct Item {
    enum Kind { kBatch, kEnd, kError } kind = kBatch;
    int64_t epoch = 0, index = 0;
    Batch batch;
    std::exception_ptr error;
  };
  std::thread worker;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  bool stop = false;

  std::shared_ptr<const Plan> plan(int64_t e) const {
    {
      std::lock_guard<std::mutex> lock(plan_mu);
      auto it = plans.find(e);
      if (it != plans.end()) return it->second;
    }
    auto p = std::make_shared<const Plan>(planner->rank_batches(e));
    std::lock_guard<std::mutex> lock(plan_mu);
    plans.emplace(e, p);
    while (plans.size() > 3) plans.erase(plans.begin());
    return p;
  }

  detail::ShardFile& shard_file(int32_t s) {
    const size_t i = static_cast<size_t>(s);
    if (!open[i]) {
      if (open_count >= kMaxOpenShards) {
        size_t victim = 0;
        uint64_t oldest = UINT64_MAX;
        for (size_t j = 0; j < open.size(); ++j)
          if (open[j] && last_use[j] < oldest) oldest = last_use[j], victim = j;
        open[victim].reset();
        --open_count;
      }
      auto f = std::make_unique<detail::ShardFile>(shards[i].path);
      f->check_shapes(shards[i]);
      open[i] = std::move(f);
      ++open_count;
    }
    last_use[i] = ++use_clock;
    return *open[i];
  }

  // A shard rewritten or damaged on disk after the loader accepted it must stop the run with an
  // error naming it, not feed it garbage (raw feature bytes have no HDF5-level check). Hashing
  // every shard every epoch would double the I/O of an epoch, so each epoch starts with one
  // stat() per shard, and only a file whose stamp changed is hashed against index.json's
  // checksum (a `touch` or an identical copy passes). A change in the middle of an epoch is
  // caught at the next epoch, or earlier by HDF5 when its structure breaks (read errors name the
  // shard). Always an error, even with skip_corrupt_shards: dropping a shard mid-run would change
  // the epoch plan every rank shares. Runs on the consumer's thread; touches only stamps/checksums.
  void check_unchanged() {
    for (size_t i = 0; i < shards.size(); ++i) {
      const FileStamp now = stamp_of(shards[i].path);
      if (now == stamps[i]) continue;
      const std::string have = file_checksum(shards[i].path);
      if (have != checksums[i])
        throw Error(str_cat(shards[i].path, ": shard changed on disk since training started (checksum ", have,
                            ", its index.json says ", checksums[i],
                            "); restore the file or re-run asr-adapt shard, then resume from the last checkpoint"));
      stamps[i] = now;
    }
  }

  Batch build(const std::vector<int64_t>& ids) {
    const int64_t b_count = static_cast<int64_t>(ids.size());
    int64_t t_max = 0, u_max = 0;
    for (int64_t id : ids) {
      const Utterance& u = utts[static_cast<size_t>(id)];
      const auto& m = shards[static_cast<size_t>(u.shard)];
      t_max = std::max(t_max, m.feature_lengths[static_cast<size_t>(u.local)]);
      u_max = std::max(u_max, m.token_lengths[static_cast<size_t>(u.local)]);
    }
    Batch b;
    // Plain allocations filled here: no backend kernel (and so no OpenMP team) on this thread.
    b.features = Tensor::empty({b_count, n_mels, t_max}, DType::F32);  // padding zeroed below
    b.feature_lengths = Tensor::empty({b_count}, DType::I64);
    b.tokens = Tensor::empty({b_count, u_max}, DType::I64);
    b.token_lengths = Tensor::empty({b_count}, DType::I64);
    std::fill(b.tokens.data<int64_t>(), b.tokens.data<int64_t>() + b_count * u_max, int64_t{0});
    float* feat = b.features.data<float>();
    int64_t* flen = b.feature_lengths.data<int64_t>();
    int64_t* tok = b.tokens.data<int64_t>();
    int64_t* tlen = b.token_lengths.data<int64_t>();
    for (int64_t k = 0; k < b_count; ++k) {
      const int64_t id = ids[static_cast<size_t>(k)];
      const Utterance& u = utts[static_cast<size_t>(id)];
      const auto& m = shards[static_cast<size_t>(u.shard)];
      const size_t l = static_cast<size_t>(u.local);
      const int64_t t = m.feature_lengths[l], nt = m.token_lengths[l];
      detail::ShardFile& f = shard_file(u.shard);
      // Stored [T, n_mels]; the batch is [n_mels, T_max] per utterance (NeMo's layout).
      float* dst = feat + k * n_mels * t_max;
      f.read_features(m.feature_offsets[l], t, dst, t_max);
      for (int64_t c = 0; c < n_mels; ++c) std::fill(dst + c * t_max + t, dst + (c + 1) * t_max, 0.0f);
      f.read_tokens(m.token_offsets[l], nt, tok + k * u_max);
      flen[k] = t;
      tlen[k] = nt;
      b.durations.push_back(m.durations[l]);
      b.transcripts.push_back(f.read_transcript(u.local));
      b.utterance_ids.push_back(id);
    }
    built.fetch_add(1);
    return b;
  }

  // The prefetch thread: plans and builds from (e, i) onwards until stopped. It waits for room in
  // the queue before building, so at most prefetch_batches items exist ahead of the consumer.
  void run(int64_t e, int64_t i) {
    const size_t cap = static_cast<size_t>(std::max<int64_t>(1, cfg.prefetch_batches));
    auto wait_room = [&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || queue.size() < cap; });
      return !stop;
    };
    auto push = [&](Item&& item) {
      std::lock_guard<std::mutex> lock(mu);
      queue.push_back(std::move(item));
      cv.notify_all();
    };
    try {
      for (;; ++e, i = 0) {
        const auto p = plan(e);
        for (; i < static_cast<int64_t>(p->size()); ++i) {
          if (!wait_room()) return;
          Item item;
          item.epoch = e;
          item.index = i;
          item.batch = build((*p)[static_cast<size_t>(i)]);
          push(std::move(item));
        }
        if (!wait_room()) return;
        Item end;
        end.kind = Item::kEnd;
        end.epoch = e;
        push(std::move(end));
      }
    } catch (...) {
      Item err;
      err.kind = Item::kError;
      err.error = std::current_exception();
      push(std::move(err));
    }
  }

  void start() {
    stop = false;
    worker = std::thread([this, e = epoch, i = index] { run(e, i); });
  }

  void halt() {
    if (!worker.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    worker.join();
    queue.clear();
    stop = false;
  }
};

Loader::Loader(const LoaderConfig& config) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.cfg = config;
  ASR_CHECK(!config.shard_dirs.empty(), "loader", "no shard directories given");
  if (!detail::kHdf5ThreadSafe && m.cfg.prefetch_batches > 0) {
    spdlog::warn("loader: libhdf5 is not thread-safe; reading batches without a prefetch thread");
    m.cfg.prefetch_batches = 0;
  }
  std::string first_dir;
  std::vector<double> durations;
  for (const std::string& dir : config.shard_dirs) {
    const ShardIndex idx = read_shard_index(dir);
    const auto check_fp = [&](const std::string& want, const std::string& have, const char* what) {
      if (!want.empty() && want != have)
        throw Error(str_cat("loader: ", dir, " was sharded with ", what, " fingerprint ", have,
                            " but the model's is ", want, " (re-run asr-adapt shard for this model)"));
    };
    check_fp(config.preprocessor_fingerprint, idx.preprocessor_fingerprint, "preprocessor");
    check_fp(config.tokenizer_fingerprint, idx.tokenizer_fingerprint, "tokenizer");
    if (idx.n_mels > 0) {
      if (m.n_mels > 0 && idx.n_mels != m.n_mels)
        throw Error(str_cat("loader: ", dir, " has ", idx.n_mels, " mel bins but ", first_dir,
                            " has ", m.n_mels));
      if (m.n_mels == 0) m.n_mels = idx.n_mels, first_dir = dir;
    }
    for (const ShardInfo& info : idx.shards) {
      const std::string path = (std::filesystem::path(dir) / info.file).string();
      try {
        auto f = std::make_unique<detail::ShardFile>(path);
        detail::ShardMeta meta = f->read_meta(idx.n_mels > 0 ? idx.n_mels : -1, info.utterances,
                                                idx.preprocessor_fingerprint, idx.tokenizer_fingerprint);
        if (m.n_mels == 0) m.n_mels = meta.n_mels, first_dir = dir;
        if (meta.n_mels != m.n_mels)
          throw Error(str_cat(path, ": has ", meta.n_mels, " mel bins, ", first_dir, " has ", m.n_mels));
        const FileStamp stamp = stamp_of(path);
        const int32_t s = static_cast<int32_t>(m.shards.size());
        m.stamps.push_back(stamp);
        m.checksums.push_back(info.checksum);
        for (int64_t i = 0; i < meta.utterances; ++i) {
          m.utts.push_back({s, i});
          durations.push_back(meta.durations[static_cast<size_t>(i)]);
        }
        m.shards.push_back(std::move(meta));
        m.open.push_back(m.open_count < kMaxOpenShards ? std::move(f) : nullptr);
        if (m.open.back()) ++m.open_count;
        m.last_use.push_back(0);
      } catch (const Error& e) {
        if (!config.skip_corrupt_shards) throw;
        spdlog::warn("loader: skipping shard: {}", e.what());
      }
    }
  }
  if (m.utts.empty())
    throw Error(str_cat("loader: no utterances in ", config.shard_dirs.front(),
                        config.shard_dirs.size() > 1 ? " and the other shard directories" : ""));
  detail::PlanSettings ps;
  ps.batch_size = config.batch_size;
  ps.batch_duration = config.batch_duration;
  ps.num_buckets = config.num_buckets;
  ps.shuffle = config.shuffle;
  ps.seed = config.seed;
  ps.rank = config.rank;
  ps.world_size = config.world_size;
  m.planner = std::make_unique<detail::EpochPlanner>(durations, ps);
  if (m.plan(0)->empty())
    throw Error(str_cat("loader: ", m.utts.size(), " utterances make fewer batches than the ",
                        config.world_size, " ranks (lower batch_size/batch_duration)"));
}

Loader::~Loader() { impl_->halt(); }

bool Loader::next(Batch& batch) {
  Impl& m = *impl_;
  if (m.checked_epoch != m.epoch) {  // once per epoch, before its first batch is handed out
    m.check_unchanged();
    m.checked_epoch = m.epoch;
  }
  if (m.cfg.prefetch_batches <= 0) {
    const auto p = m.plan(m.epoch);
    if (m.index >= static_cast<int64_t>(p->size())) {
      ++m.epoch;
      m.index = 0;
      return false;
    }
    batch = m.build((*p)[static_cast<size_t>(m.index)]);
    ++m.index;
    return true;
  }
  if (!m.worker.joinable()) m.start();
  std::unique_lock<std::mutex> lock(m.mu);
  m.cv.wait(lock, [&] { return !m.queue.empty(); });
  Impl::Item& item = m.queue.front();
  if (item.kind == Impl::Item::kError) std::rethrow_exception(item.error);  // stays queued
  if (item.kind == Impl::Item::kEnd) {
    m.queue.pop_front();
    m.cv.notify_all();
    ++m.epoch;
    m.index = 0;
    return false;
  }
  if (item.epoch != m.epoch || item.index != m.index)  // the thread and next() disagree: a bug
    throw Error(str_cat("loader: internal error: queued batch (", item.epoch, ", ", item.index,
                        ") but position (", m.epoch, ", ", m.index, ")"));
  batch = std::move(item.batch);
  m.queue.pop_front();
  m.cv.notify_all();
  ++m.index;
  return true;
}

int64_t Loader::batches_per_epoch() const {
  return static_cast<int64_t>(impl_->plan(impl_->epoch)->size());
}

LoaderPosition Loader::position() const { return {impl_->epoch, impl_->index}; }

void Loader::restore(const LoaderPosition& position) {
  Impl& m = *impl_;
  ASR_CHECK(position.epoch >= 0, "Loader::restore", "negative epoch ", position.epoch);
  const int64_t n = static_cast<int64_t>(m.plan(position.epoch)->size());
  ASR_CHECK(position.batch_index >= 0 && position.batch_index <= n, "Loader::restore",
            "batch_index ", position.batch_index, " outside epoch ", position.epoch, "'s ", n,
            " batches (different data or settings than when saved?)");
  m.halt();
  m.epoch = position.epoch;
  m.index = position.batch_index;
}

int64_t Loader::num_utterances() const { return static_cast<int64_t>(impl_->utts.size()); }
int64_t Loader::n_mels() const { return impl_->n_mels; }
int64_t Loader::batches_built() const { return impl_->built.load(); }

}  // namespace asr::data
