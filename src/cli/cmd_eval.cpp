// `asr-adapt eval`: WER, CER and CTC loss of a model (plus trained adapter files) on feature
// shards or NeMo manifests, through train::evaluate (the trainer's validation). The summary goes
// to stderr (or as one JSON object to stdout with --json); per-utterance hypotheses to --out.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <tuple>

#include "asr/data/shard_format.h"
#include "asr/io/manifest.h"
#include "asr/train/evaluate.h"
#include "audio_inputs.h"
#include "commands.h"
#include "inference_model.h"

namespace asr::cli {
namespace {

using json = nlohmann::ordered_json;

struct Options {
  InferencePlacement placement;
  std::string model, out;
  std::vector<std::string> adapters, shards, manifests;
  bool disable_adapters = false, json = false, legacy_features = false;
  int64_t batch_size = 16;
};

// Manifest input: the utterances of every manifest, in order (their index is the utterance id).
struct ManifestSet {
  std::vector<std::vector<io::ManifestEntry>> entries;  // per manifest; AudioInput points into it
  std::vector<AudioInput> inputs;
};

ManifestSet read_manifests(const std::vector<std::string>& paths) {
  ManifestSet set;
  set.entries.reserve(paths.size());  // no reallocation: inputs keep pointers into it
  for (const auto& p : paths) {
    set.entries.push_back(io::read_manifest(p));
    if (set.entries.back().empty()) throw Error(str_cat(p, ": the manifest lists no audio"));
    for (const auto& e : set.entries.back())
      if (!e.has_text) throw Error(str_cat(p, ":", e.line, ": no \"text\" to evaluate against"));
    for (auto& in : inputs_from_manifest(set.entries.back(), p)) set.inputs.push_back(in);
  }
  for (auto& in : set.inputs) probe_audio(in);
  return set;
}

// Batches computed from audio as `transcribe` computes them, longest first (little padding).
train::EvalResult evaluate_manifests(const InferenceModel& m, const ManifestSet& set,
                                     const train::EvalOptions& options) {
  const std::vector<AudioInput>& in = set.inputs;
  std::vector<size_t> order(in.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return in[a].seconds > in[b].seconds; });
  const size_t bs = static_cast<size_t>(options.batch_size);
  size_t start = 0;
  auto next = [&](data::Batch& batch) {
    if (start >= order.size()) return false;
    const size_t end = std::min(order.size(), start + bs);
    std::vector<std::vector<float>> signals;
    std::vector<std::vector<int64_t>> tokens;
    batch = data::Batch();
    for (size_t k = start; k < end; ++k) {
      const AudioInput& u = in[order[k]];
      signals.push_back(load_audio_input(u, m.features));
      tokens.push_back(m.tokenizer.encode(u.entry->text));
      batch.durations.push_back(static_cast<double>(signals.back().size()) /
                                static_cast<double>(m.features.config().sample_rate));
      batch.transcripts.push_back(u.entry->text);
      batch.utterance_ids.push_back(static_cast<int64_t>(order[k]));
    }
    std::tie(batch.features, batch.feature_lengths) = m.features.compute_batch(signals);
    size_t longest = 0;
    for (const auto& t : tokens) longest = std::max(longest, t.size());
    std::vector<int64_t> padded(tokens.size() * longest, 0), lengths;
    for (size_t b = 0; b < tokens.size(); ++b) {
      std::copy(tokens[b].begin(), tokens[b].end(), padded.begin() + static_cast<std::ptrdiff_t>(b * longest));
      lengths.push_back(static_cast<int64_t>(tokens[b].size()));
    }
    const int64_t n = static_cast<int64_t>(tokens.size());
    batch.tokens = Tensor::from_vector(padded, {n, static_cast<int64_t>(longest)});
    batch.token_lengths = Tensor::from_vector(lengths, {n});
    start = end;
    return true;
  };
  const int64_t total = static_cast<int64_t>((order.size() + bs - 1) / bs);
  return train::evaluate_batch_stream(*m.model, m.tokenizer, next, total, options);
}

std::string percent(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * rate);
  return buf;
}

void write_hypotheses(const std::string& path, const train::EvalResult& r, const ManifestSet* manifests) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) throw Error(str_cat(path, ": cannot write the hypotheses"));
    for (const train::UtteranceResult& u : r.utterances_detail) {
      json j;
      j["id"] = u.utterance_id;
      if (manifests) j["audio_filepath"] = manifests->inputs.at(static_cast<size_t>(u.utterance_id)).path;
      j["reference"] = u.reference;
      j["hypothesis"] = u.hypothesis;
      j["errors"] = u.word_errors;
      j["words"] = u.words;
      j["char_errors"] = u.char_errors;
      j["chars"] = u.chars;
      j["loss"] = u.loss;
      f << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
    f.flush();
    if (!f) throw Error(str_cat(path, ": cannot write the hypotheses"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(str_cat(path, ": cannot rename ", tmp, " into place"));
}

int run_eval(const Options& o) {
  std::unique_ptr<ManifestSet> manifests;
  if (!o.manifests.empty()) manifests = std::make_unique<ManifestSet>(read_manifests(o.manifests));
  std::unique_ptr<InferenceModel> m = load_inference_model(o.model, o.legacy_features, o.adapters, o.placement);
  if (o.disable_adapters) m->model->set_all_adapters_enabled(false);

  train::EvalOptions opt;
  opt.batch_size = o.batch_size;
  opt.keep_utterances = !o.out.empty();
  if (isatty(fileno(stderr)))
    opt.progress = [](int64_t done, int64_t total) { std::fprintf(stderr, "\reval: batch %lld/%lld", (long long)done, (long long)total); };
  train::EvalResult r;
  if (manifests) {
    r = evaluate_manifests(*m, *manifests, opt);
  } else {
    opt.preprocessor_fingerprint =
        data::preprocessor_fingerprint(m->features.config(), m->features.filterbank(), m->features.window());
    opt.tokenizer_fingerprint = data::tokenizer_fingerprint(m->file.tokenizer_model);
    r = train::evaluate_shards(*m->model, m->tokenizer, o.shards, opt);
  }
  if (opt.progress) std::fprintf(stderr, "\r\033[K");
  if (!o.out.empty()) write_hypotheses(o.out, r, manifests.get());

  std::fprintf(stderr, "eval: %lld utterances (%.2f s of audio) in %.2f s; WER %s (%lld errors / %lld words), "
               "CER %s (%lld errors / %lld characters), loss %.4f\n",
               (long long)r.utterances, r.audio_seconds, r.wall_seconds, percent(r.wer).c_str(),
               (long long)r.word_errors, (long long)r.words, percent(r.cer).c_str(), (long long)r.char_errors,
               (long long)r.chars, r.loss);
  if (o.json) {
    json j;
    j["model"] = o.model;
    j["adapters"] = o.adapters;
    j["adapters_enabled"] = m->model->enabled_adapters();
    j["utterances"] = r.utterances;
    j["wer"] = r.wer;
    j["cer"] = r.cer;
    j["loss"] = r.loss;
    j["word_errors"] = r.word_errors;
    j["words"] = r.words;
    j["char_errors"] = r.char_errors;
    j["chars"] = r.chars;
    j["audio_seconds"] = r.audio_seconds;
    j["wall_seconds"] = r.wall_seconds;
    std::cout << j.dump() << '\n';
    std::cout.flush();
    if (!std::cout) throw Error("eval: cannot write the summary to stdout");
  }
  return kOk;
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate WER/CER/CTC loss of a model (+ adapters) on shards or manifests");
  cmd->footer(
      "WER and CER are NeMo's: total edit distance / total reference words (characters), greedy CTC.\n"
      "loss is the mean per-utterance CTC negative log-likelihood. The summary goes to stderr; --json\n"
      "also prints it as one JSON object on stdout. --out writes one JSON line per utterance (id,\n"
      "reference, hypothesis, errors, words, char_errors, chars, loss; audio_filepath for manifests).\n"
      "Shards must have been made for this model's preprocessor and tokenizer (asr-adapt shard).");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Base model: NeMo .nemo or asr-adapt .h5")->required()->check(CLI::ExistingFile);
  cmd->add_option("--adapter", o->adapters, "Trained adapter file (repeatable), applied on top of --model")
      ->allow_extra_args(false);
  cmd->add_flag("--disable-adapters", o->disable_adapters,
                "Load the adapters but disable them (the base model's output, for comparison)");
  auto* input = cmd->add_option_group("input", "What to evaluate on (one kind)");
  input->add_option("--shards", o->shards, "Shard directory from 'asr-adapt shard' (repeatable)");
  input->add_option("--manifest", o->manifests, "NeMo manifest with \"text\" (repeatable); features computed here")
      ->check(CLI::ExistingFile);
  input->require_option(1);
  cmd->add_option("--batch-size", o->batch_size, "Utterances per forward pass (default 16)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", o->out, "Write per-utterance hypotheses here (JSON lines)");
  cmd->add_flag("--json", o->json, "Print the summary as one JSON object on stdout");
  add_placement_options(cmd, &o->placement);
  cmd->add_flag("--legacy-features", o->legacy_features,
                "Manifests: compute features as NeMo < 2.5 did (see 'transcribe --help')");
  return [o] { return run_eval(*o); };
}

}  // namespace asr::cli
