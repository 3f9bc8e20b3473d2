// `asr-adapt transcribe`: greedy CTC transcription of audio files or a NeMo manifest with a
// .nemo / .h5 model, the way NeMo's transcribe() decodes (greedy_batch, punctuation fix-up).
// Transcripts go to stdout; progress, timing and WER/CER go to stderr so stdout stays parseable.
#include <sndfile.h>
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

#include "asr/audio/audio.h"
#include "asr/audio/features.h"
#include "asr/autograd/node.h"
#include "asr/io/manifest.h"
#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"
#include "asr/text/ctc_decoding.h"
#include "asr/text/tokenizer.h"
#include "commands.h"

namespace asr::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Utterance {
  std::string path;                 // audio file, resolved
  std::string where;                // prefix for messages: "manifest:line" or the file
  double offset = 0, duration = 0;  // seconds; duration 0 = to the end of the file
  const io::ManifestEntry* entry = nullptr;
  double seconds = 0;  // audio length, for sorting and the real-time factor
};

// Checks the file is readable audio before the model loads (fail fast, one-line errors) and
// returns its length. A manifest duration that covers the whole file (up to rounding) reads the
// whole file: NeMo's lhotse loader rounds duration * rate, so `floor` here would drop a sample.
// "FILE: what" for a file named on the command line, "MANIFEST:LINE: what FILE" for a manifest's.
Error input_error(const Utterance& u, const std::string& what, const std::string& detail = "") {
  return Error(u.entry ? str_cat(u.where, ": ", what, " ", u.path, detail) : str_cat(u.path, ": ", what, detail));
}

void probe(Utterance& u) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(u.path, ec)) throw input_error(u, "no such audio file");
  if (!fs::is_regular_file(u.path, ec)) throw input_error(u, "not a regular file");
  SF_INFO info{};
  SNDFILE* f = sf_open(u.path.c_str(), SFM_READ, &info);
  if (!f) throw input_error(u, "not a readable audio file", str_cat(" (", sf_strerror(nullptr), ")"));
  sf_close(f);
  const double rate = info.samplerate > 0 ? info.samplerate : 1;
  const double file_seconds = static_cast<double>(info.frames) / rate;
  if (u.offset == 0 && u.duration > 0 && std::round(u.duration * rate) >= info.frames) u.duration = 0;
  u.seconds = u.duration > 0 ? u.duration : std::max(0.0, file_seconds - u.offset);
}

std::vector<float> load(const Utterance& u, const audio::FeatureExtractor& fx) {
  audio::Audio a;
  try {
    a = audio::load_audio(u.path, fx.config().sample_rate, u.offset, u.duration);
  } catch (const Error& e) {
    if (!u.entry) throw;
    throw Error(str_cat(u.where, ": ", e.what()));
  }
  if (fx.num_frames(static_cast<int64_t>(a.samples.size())) <= 0)
    throw input_error(u, "audio too short to transcribe", str_cat(" (", a.samples.size(), " samples)"));
  return std::move(a.samples);
}

Tensor buffer(const io::ModelFile& mf, const char* key) {
  auto it = mf.weights.find(key);
  return it == mf.weights.end() ? Tensor() : it->second;
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Options {
  std::string model, manifest;
  std::vector<std::string> files;
  bool json = false;
  bool legacy_features = false;
  int64_t batch_size = 16;
};

int run_transcribe(const Options& o) {
  std::vector<io::ManifestEntry> manifest;
  std::vector<Utterance> utts;
  if (!o.manifest.empty()) {
    manifest = io::read_manifest(o.manifest);
    if (manifest.empty()) throw Error(str_cat(o.manifest, ": the manifest lists no audio"));
    for (const auto& e : manifest)
      utts.push_back({e.audio_filepath, str_cat(o.manifest, ":", e.line), e.offset, e.duration, &e});
  } else {
    for (const auto& f : o.files) utts.push_back({f, f, 0.0, 0.0, nullptr});
  }
  for (auto& u : utts) probe(u);

  const auto t_load = Clock::now();
  io::ModelFile mf = io::load_model_file(o.model);
  if (o.legacy_features) mf.config.preprocessor.legacy_nemo_pre_2_5 = true;
  text::Tokenizer tokenizer = text::Tokenizer::from_sentencepiece(mf.tokenizer_model, o.model);
  audio::FeatureExtractor fx(mf.config.preprocessor, buffer(mf, "preprocessor.featurizer.fb"),
                             buffer(mf, "preprocessor.featurizer.window"));
  std::unique_ptr<models::ConformerCtcModel> model = models::load_ctc_model(mf);
  model->train(false);
  if (tokenizer.vocab_size() != model->blank())
    throw Error(str_cat(o.model, ": the tokenizer has ", tokenizer.vocab_size(), " pieces but the model has ",
                        model->blank(), " outputs before the blank"));
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
        signals.push_back(load(utts[order[k]], fx));
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
    const Utterance& u = utts[i];
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
  cmd->add_flag("--json", o->json, "Write JSON lines instead of PATH<TAB>TEXT");
  cmd->add_flag("--legacy-features", o->legacy_features,
                "Compute features as NeMo < 2.5 did (L//hop+1 frames, reflect-padded STFT), for "
                "checkpoints trained before NeMo 2.5");
  cmd->add_option("--batch-size", o->batch_size, "Utterances per forward pass (default 16)")
      ->check(CLI::PositiveNumber);
  return [o] { return run_transcribe(*o); };
}

}  // namespace asr::cli
