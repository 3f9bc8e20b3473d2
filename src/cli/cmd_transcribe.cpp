// `asr-adapt transcribe`: greedy CTC transcription of audio files or a NeMo manifest with a
// .nemo / .h5 model, the way NeMo's transcribe() decodes (greedy_batch, punctuation fix-up).
// Transcripts go to stdout; progress, timing and WER/CER go to stderr so stdout stays parseable.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "asr/autograd/node.h"
#include "asr/io/manifest.h"
#include "asr/text/ctc_decoding.h"
#include "audio_inputs.h"
#include "commands.h"
#include "inference_model.h"

namespace asr::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Options {
  InferencePlacement placement;
  std::string model, manifest;
  std::vector<std::string> files, adapters;
  bool json = false;
  bool legacy_features = false;
  int64_t batch_size = 16;
};

int run_transcribe(const Options& o) {
  std::vector<io::ManifestEntry> manifest;
  std::vector<AudioInput> utts;
  if (!o.manifest.empty()) {
    manifest = io::read_manifest(o.manifest);
    if (manifest.empty()) throw Error(str_cat(o.manifest, ": the manifest lists no audio"));
    utts = inputs_from_manifest(manifest, o.manifest);
  } else {
    utts = inputs_from_files(o.files);
  }
  for (auto& u : utts) probe_audio(u);

  const auto t_load = Clock::now();
  std::unique_ptr<InferenceModel> loaded = load_inference_model(o.model, o.legacy_features, o.adapters, o.placement);
  const text::Tokenizer& tokenizer = loaded->tokenizer;
  const audio::FeatureExtractor& fx = loaded->features;
  const models::ConformerCtcModel* model = loaded->model.get();
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();

  // Longest first: batches hold similar lengths (little padding) and peak memory shows at once.
  std::vector<size_t> order(utts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return utts[a].seconds > utts[b].seconds; });

  const bool progress = isatty(fileno(stderr)) && utts.size() > static_cast<size_t>(o.batch_size);
  std::vector<std::string> texts(utts.size());
  double audio_s = 0;
  const auto t_run = Clock::now();
  {
    autograd::NoGradGuard no_grad;
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(o.batch_size)) {
      const size_t end = std::min(order.size(), start + static_cast<size_t>(o.batch_size));
      std::vector<std::vector<float>> signals;
      for (size_t k = start; k < end; ++k) {
        signals.push_back(load_audio_input(utts[order[k]], fx));
        audio_s += static_cast<double>(signals.back().size()) / static_cast<double>(fx.config().sample_rate);
      }
      auto [features, lengths] = fx.compute_batch(signals);
      models::CtcOutput out = model->forward(features, lengths);
      auto ids = text::ctc_greedy_decode(out.log_probs, out.lengths, model->blank());
      for (size_t k = start; k < end; ++k) texts[order[k]] = tokenizer.decode(ids[k - start]);
      if (progress) std::fprintf(stderr, "\rtranscribe: %zu/%zu utterances", end, order.size());
    }
  }
  const double run_s = std::chrono::duration<double>(Clock::now() - t_run).count();
  if (progress) std::fprintf(stderr, "\r\033[K");

  for (size_t i = 0; i < utts.size(); ++i) {
    const AudioInput& u = utts[i];
    if (o.json) {
      nlohmann::ordered_json j;
      if (u.entry) {
        j = nlohmann::ordered_json::parse(u.entry->json);
      } else {
        j["audio_filepath"] = u.path;
        j["duration"] = std::round(u.seconds * 1e6) / 1e6;
      }
      j["pred_text"] = texts[i];
      std::cout << dump(j) << '\n';
    } else {
      std::cout << u.path << '\t' << texts[i] << '\n';
    }
  }
  std::cout.flush();
  if (!std::cout) throw Error("transcribe: cannot write the transcripts to stdout");

  std::fprintf(stderr, "transcribed %zu utterances, %.2f s of audio in %.2f s (%.1fx real time, RTF %.4f); model load %.2f s\n",
               utts.size(), audio_s, run_s, run_s > 0 ? audio_s / run_s : 0.0, audio_s > 0 ? run_s / audio_s : 0.0, load_s);
  const bool have_refs = !manifest.empty() &&
                         std::all_of(manifest.begin(), manifest.end(), [](const io::ManifestEntry& e) { return e.has_text; });
  if (have_refs) {
    std::vector<std::string> refs;
    for (const auto& e : manifest) refs.push_back(e.text);
    auto show = [](const char* name, const text::ErrorRate& r, const char* unit) {
      if (r.reference_length == 0)  // NeMo's word_error_rate gives inf here
        return str_cat(name, " inf (", r.errors, " errors / 0 ", unit, ")");
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.2f%%", 100 * r.rate());
      return str_cat(name, " ", pct, " (", r.errors, " errors / ", r.reference_length, " ", unit, ")");
    };
    std::fprintf(stderr, "%s, %s\n", show("WER", text::word_error_rate(texts, refs, false), "words").c_str(),
                 show("CER", text::word_error_rate(texts, refs, true), "characters").c_str());
  }
  return kOk;
}

}  // namespace

CommandRunner add_transcribe_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("transcribe", "Transcribe audio files or a NeMo manifest (greedy CTC)");
  cmd->footer(
      "Output (stdout), one line per input in input order:\n"
      "  plain:  AUDIO_PATH<TAB>TRANSCRIPT\n"
      "  --json: the manifest line's fields plus \"pred_text\" (for files: audio_filepath, duration,\n"
      "          pred_text), as NeMo's transcribe_speech.py writes them.\n"
      "stderr gets progress (on a terminal), timing, and WER/CER when every manifest line has \"text\".\n"
      "Manifest audio paths that are relative resolve against the manifest's folder, as in NeMo.");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Model file: NeMo .nemo or asr-adapt .h5")->required()->check(CLI::ExistingFile);
  auto* input = cmd->add_option_group("input", "What to transcribe (one of)");
  input->add_option("--manifest", o->manifest, "NeMo JSON-lines manifest (audio_filepath, duration, text, offset)")
      ->check(CLI::ExistingFile);
  input->add_option("files", o->files, "Audio files (wav, flac, ogg; any rate, mixed down to mono)");
  input->require_option(1);
  cmd->add_option("--adapter", o->adapters,
                  "Trained adapter file (.h5 from training; repeatable), applied on top of --model; "
                  "refused if it was trained on another base model")
      ->allow_extra_args(false);
  cmd->add_flag("--json", o->json, "Write JSON lines instead of PATH<TAB>TEXT");
  add_placement_options(cmd, &o->placement);
  cmd->add_flag("--legacy-features", o->legacy_features,
                "Compute features as NeMo < 2.5 did (L//hop+1 frames, reflect-padded STFT), for "
                "checkpoints trained before NeMo 2.5");
  cmd->add_option("--batch-size", o->batch_size, "Utterances per forward pass (default 16)")
      ->check(CLI::PositiveNumber);
  return [o] { return run_transcribe(*o); };
}

}  // namespace asr::cli
