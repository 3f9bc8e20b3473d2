// `asr-adapt shard`: computes features and token ids once, into HDF5 shards plus DIR/index.json
// (docs/shard-format.md). Every rank plans the same shards from the manifests; under mpirun rank
// r writes shards r, r+N, r+2N, ...; rank 0 writes the index after everyone is done. Re-running
// keeps finished shards of the same plan (resume). Progress goes to stderr; the skip table and
// the closing summary go to stdout.
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>

#include "asr/audio/features.h"
#include "asr/data/shard_builder.h"
#include "asr/data/shard_format.h"
#include "asr/dist/mpi_session.h"
#include "asr/io/model_file.h"
#include "asr/text/tokenizer.h"
#include "commands.h"
#include "shard_report.h"

namespace asr::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string model, out, max_shard_size = "512MiB", dtype = "f32";
  std::vector<std::string> manifests;
  double min_duration = 0.0, max_duration = std::numeric_limits<double>::infinity();
  bool strict = false, legacy_features = false;
  int64_t threads = 0;  // 0: the cores this process may use, shared among the node's ranks
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int64_t default_threads(int local_size) {
  cpu_set_t set;
  CPU_ZERO(&set);
  int64_t n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  const int64_t hw = std::thread::hardware_concurrency();
  // Unbound ranks on one node would otherwise each start a thread per core.
  if (local_size > 1 && hw > 0 && n >= hw) n /= local_size;
  return std::max<int64_t>(1, n);
}

Tensor buffer(const io::ModelFile& mf, const char* key) {
  auto it = mf.weights.find(key);
  return it == mf.weights.end() ? Tensor() : it->second;
}

std::string hours(double s) {
  char buf[64];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.2f h", s / 3600);
  return buf;
}

// file_checksum() gives "xxh64:" + 16 hex digits; MPI carries the 64 bits.
uint64_t checksum_bits(const std::string& c) {
  if (c.rfind("xxh64:", 0) != 0 || c.size() != 22) throw Error(str_cat("shard: unexpected checksum form '", c, "'"));
  return std::stoull(c.substr(6), nullptr, 16);
}
std::string checksum_text(uint64_t bits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "xxh64:%016llx", static_cast<unsigned long long>(bits));
  return buf;
}

// Rank 0 prepares DIR: an index from an earlier run goes first (it would describe shards about
// to change), then temp files and shards the plan no longer has.
void prepare_directory(const std::string& dir, const data::ShardPlan& plan) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw Error(str_cat(dir, ": cannot create the output directory (", ec.message(), ")"));
  fs::remove(fs::path(dir) / "index.json", ec);
  std::set<std::string> planned;
  for (const auto& s : plan.shards) planned.insert(s.file);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool temp = name.size() > 4 && name[0] == '.' && name.compare(name.size() - 4, 4, ".tmp") == 0;
    const bool stale_shard = name.rfind("shard-", 0) == 0 && name.size() > 3 &&
                             name.compare(name.size() - 3, 3, ".h5") == 0 && !planned.count(name);
    if (temp || stale_shard) fs::remove(entry.path(), ec);
  }
}

struct Outcome {
  int code = kOk;
  std::string error;  // rank 0's error message when code != kOk
};

int run_shard(const Options& o) {
  if (o.min_duration > o.max_duration) {
    spdlog::error("shard: --min-duration {} is above --max-duration {}", o.min_duration, o.max_duration);
    return kUsage;
  }
  data::ShardPlanOptions popt;
  try {
    popt.max_shard_bytes = data::parse_byte_size(o.max_shard_size);
  } catch (const Error& e) {
    spdlog::error("shard: --max-shard-size: {}", e.what());
    return kUsage;
  }
  popt.min_duration = o.min_duration;
  popt.max_duration = o.max_duration;
  popt.feature_dtype = o.dtype;

  const dist::MpiSession& mpi = dist::MpiSession::get();
  const bool root = mpi.rank() == 0;
  const std::string who = mpi.size() > 1 ? str_cat("shard[rank ", mpi.rank(), "]") : "shard";
  // Every rank meets the same input errors; one report is enough.
  auto fail = [&](const std::string& msg) -> int {
    if (root) throw Error(msg);
    return kFailure;
  };
  const auto t_start = Clock::now();

  io::ModelFile mf = io::load_model_file(o.model);
  if (o.legacy_features) mf.config.preprocessor.legacy_nemo_pre_2_5 = true;
  const text::Tokenizer tokenizer = text::Tokenizer::from_sentencepiece(mf.tokenizer_model, o.model);
  const audio::FeatureExtractor fx(mf.config.preprocessor, buffer(mf, "preprocessor.featurizer.fb"),
                                   buffer(mf, "preprocessor.featurizer.window"));
  data::ShardBuildOptions bopt;
  bopt.threads = o.threads > 0 ? o.threads : default_threads(mpi.local_size());
  bopt.subsampling_factor = mf.config.encoder.subsampling_factor;
  bopt.header.preprocessor_fingerprint = data::preprocessor_fingerprint(fx.config(), fx.filterbank(), fx.window());
  bopt.header.tokenizer_fingerprint = data::tokenizer_fingerprint(mf.tokenizer_model);
  bopt.header.n_mels = fx.config().features;
  bopt.header.feature_dtype = o.dtype;

  const data::ShardPlan plan = data::plan_shards(o.manifests, tokenizer, fx.config(), popt);
  if (root) {
    std::fprintf(stderr, "shard: %lld manifest items -> %lld utterances (%s) in %zu shards of <= %s (%s); %d rank%s x %lld thread%s\n",
                 static_cast<long long>(plan.manifest_items), static_cast<long long>(plan.utterances),
                 hours(plan.duration).c_str(), plan.shards.size(), o.max_shard_size.c_str(), o.dtype.c_str(),
                 mpi.size(), mpi.size() > 1 ? "s" : "", static_cast<long long>(bopt.threads), bopt.threads > 1 ? "s" : "");
    if (!plan.kept_with_unknown.empty())
      spdlog::warn("shard: {} transcript(s) have characters the tokenizer maps to <unk> (kept); first {}: {}",
                   plan.kept_with_unknown.size(), plan.kept_with_unknown[0].where, plan.kept_with_unknown[0].detail);
  }
  if ((o.strict && !plan.skipped.empty()) || plan.utterances == 0) {
    if (root) print_skip_table(stdout, plan.skipped, plan.kept_with_unknown, plan.manifest_items);
    std::fflush(stdout);
    return fail(plan.utterances == 0 ? "shard: the manifests hold no usable utterance; nothing written"
                                     : str_cat("shard: --strict: ", plan.skipped.size(),
                                               " manifest items would be skipped (table above); nothing written"));
  }

  // Rank 0 prepares the directory; the broadcast doubles as the barrier before anyone writes.
  std::string prep_error;
  if (root) {
    try {
      prepare_directory(o.out, plan);
    } catch (const std::exception& e) {
      prep_error = e.what();
    }
  }
  prep_error = mpi.broadcast(prep_error);
  if (!prep_error.empty()) return fail(prep_error);

  std::vector<int64_t> mine;
  for (int64_t k = mpi.rank(); k < static_cast<int64_t>(plan.shards.size()); k += mpi.size()) mine.push_back(k);
  const auto t_work = Clock::now();
  auto last_print = t_work;
  const bool tty = isatty(fileno(stderr));
  bopt.on_shard_done = [&](const data::ShardProgress& p) {
    const bool done = p.shards_done == p.shards_total;
    if (!tty && !done && seconds_since(last_print) < 10) return;
    if (!tty && done && seconds_since(t_work) < 10) return;  // short runs: the summary says it all
    last_print = Clock::now();
    const double wall = seconds_since(t_work);
    std::fprintf(stderr, "%s%s: %lld/%lld shards, %lld utterances, %s of audio, %.1fx real time%s", tty ? "\r\033[K" : "",
                 who.c_str(), static_cast<long long>(p.shards_done), static_cast<long long>(p.shards_total),
                 static_cast<long long>(p.utterances), hours(p.audio_seconds).c_str(),
                 wall > 0 ? p.audio_seconds / wall : 0.0, tty && !done ? "" : "\n");
  };
  data::ShardBuildResult built;
  std::string local_error;
  try {
    built = data::build_shards(plan, mine, o.out, fx, bopt);
  } catch (const std::exception& e) {
    local_error = e.what();
  }

  // Everyone learns whether anyone failed before anything else is exchanged.
  const auto failed = mpi.allgather(static_cast<int64_t>(!local_error.empty()));
  int64_t n_failed = 0;
  for (auto f : failed) n_failed += f;
  if (n_failed > 0) {
    if (mpi.size() == 1) throw Error(local_error);
    if (!local_error.empty()) spdlog::error("{}: {}", who, local_error);
    return fail(str_cat("shard: ", n_failed, " of ", mpi.size(),
                        " ranks failed (messages above); finished shards are kept and a re-run resumes"));
  }

  // Checksums were computed by the rank that owns each shard; rank 0 collects them.
  std::vector<std::string> checksums(plan.shards.size());
  {
    std::vector<int64_t> mine_sum(plan.shards.size(), 0);
    for (const auto& b : built.shards)
      mine_sum[static_cast<size_t>(b.index)] = static_cast<int64_t>(checksum_bits(b.info.checksum));
    for (size_t k = 0; k < plan.shards.size(); ++k) {
      const auto all = mpi.allgather(mine_sum[k]);
      checksums[k] = checksum_text(static_cast<uint64_t>(all[k % static_cast<size_t>(mpi.size())]));
    }
  }
  double audio_s = 0;
  for (double a : mpi.allgather(built.audio_seconds)) audio_s += a;
  int64_t reused = 0;
  for (const auto& b : built.shards) reused += b.reused;
  int64_t reused_all = 0;
  for (auto r : mpi.allgather(reused)) reused_all += r;
  if (mpi.size() > 1)
    std::fprintf(stderr, "%s: %zu shards (%lld written, %lld kept), %lld utterances written, %s of audio decoded\n",
                 who.c_str(), built.shards.size(), static_cast<long long>(built.shards.size() - reused),
                 static_cast<long long>(reused), static_cast<long long>(built.utterances_written),
                 hours(built.audio_seconds).c_str());

  Outcome outcome;
  if (root) {
    try {
      std::vector<data::SkipRecord> skipped = plan.skipped;
      data::ShardIndex index;
      index.preprocessor_fingerprint = bopt.header.preprocessor_fingerprint;
      index.tokenizer_fingerprint = bopt.header.tokenizer_fingerprint;
      index.n_mels = bopt.header.n_mels;
      index.feature_dtype = o.dtype;
      int64_t utterances = 0;
      double duration = 0;
      for (size_t k = 0; k < plan.shards.size(); ++k) {
        const std::string path = o.out + "/" + plan.shards[k].file;
        const data::ShardSummary s = data::inspect_shard(path);
        for (auto& r : data::skipped_from_json(s.skipped_json, path)) skipped.push_back(std::move(r));
        if (s.utterances == 0) continue;  // every planned item was skipped: nothing to list
        index.shards.push_back({plan.shards[k].file, s.utterances, s.frames, s.duration, checksums[k]});
        utterances += s.utterances;
        duration += s.duration;
      }
      print_skip_table(stdout, skipped, plan.kept_with_unknown, plan.manifest_items);
      if (utterances == 0) {
        outcome = {kFailure, "shard: no utterance could be used (table above); no index written"};
      } else if (o.strict && skipped.size() > plan.skipped.size()) {
        outcome = {kFailure, str_cat("shard: --strict: ", skipped.size(), " items skipped (table above); shards are kept, "
                                     "no index written")};
      } else {
        data::write_shard_index(o.out, index);
        const double wall = seconds_since(t_work);
        const double cores = static_cast<double>(bopt.threads) * mpi.size();
        std::printf("shard: %s: %zu shards (%lld kept from an earlier run), %lld utterances, %s of audio\n",
                    o.out.c_str(), index.shards.size(), static_cast<long long>(reused_all),
                    static_cast<long long>(utterances), hours(duration).c_str());
        std::printf("shard: decoded %s of audio in %.2f s (+%.2f s model load): %.1fx real time, "
                    "%.1fx real time per core (%lld thread%s x %d rank%s)\n",
                    hours(audio_s).c_str(), wall, std::chrono::duration<double>(t_work - t_start).count(),
                    wall > 0 ? audio_s / wall : 0.0, wall > 0 ? audio_s / (wall * cores) : 0.0,
                    static_cast<long long>(bopt.threads), bopt.threads > 1 ? "s" : "", mpi.size(), mpi.size() > 1 ? "s" : "");
      }
    } catch (const std::exception& e) {
      outcome = {kFailure, e.what()};
    }
    std::fflush(stdout);
  }
  const int code = std::stoi(mpi.broadcast(std::to_string(outcome.code)));
  if (root && code != kOk) throw Error(outcome.error);
  return code;
}

}  // namespace

CommandRunner add_shard_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("shard", "Precompute features + token ids into HDF5 shards for training");
  cmd->footer(
      "Writes DIR/shard-NNNNN.h5 and DIR/index.json (docs/shard-format.md). Re-running the same command\n"
      "keeps finished shards and redoes missing or partial ones. Bad manifest items are skipped and\n"
      "reported by reason at the end (--strict makes any skip a failure). Under mpirun, ranks write\n"
      "disjoint shards in parallel: mpirun -np N asr-adapt shard ...");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Model file (.nemo or asr-adapt .h5): its preprocessor and tokenizer")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--manifest", o->manifests, "NeMo JSON-lines manifest (repeat for several, in order)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Output directory")->required();
  cmd->add_option("--max-shard-size", o->max_shard_size, "Largest shard, estimated (default 512MiB)");
  cmd->add_option("--dtype", o->dtype, "Feature storage type (default f32)")->check(CLI::IsMember({"f16", "f32"}));
  cmd->add_option("--min-duration", o->min_duration, "Skip utterances shorter than this (seconds)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-duration", o->max_duration, "Skip utterances longer than this (seconds)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--strict", o->strict, "Fail (exit 1) if any manifest item is skipped");
  cmd->add_option("--threads", o->threads, "Feature threads per process (default: available cores / ranks per node)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--legacy-features", o->legacy_features, "Features as NeMo < 2.5 computed them (see transcribe)");
  return [o] { return run_shard(*o); };
}

}  // namespace asr::cli
