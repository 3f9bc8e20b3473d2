// Greedy-CTC evaluation: per batch, one forward pass gives both the CTC loss (reduction none, one
// NLL per utterance) and the greedy hypotheses; WER/CER are summed over the set as NeMo's
// word_error_rate does (Σ edits / Σ reference words), not averaged per utterance.
#include "asr/train/evaluate.h"

#include <algorithm>
#include <chrono>

#include "asr/autograd/node.h"
#include "asr/ops/ops.h"
#include "asr/text/ctc_decoding.h"

namespace asr::train {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<double> to_doubles(const Tensor& t) {
  Tensor d = t.to(Device::cpu()).to(DType::F64).contiguous();
  const double* p = d.data<double>();
  return std::vector<double>(p, p + d.numel());
}

}  // namespace

EvalResult evaluate_batch_stream(const models::ConformerCtcModel& model, const text::Tokenizer& tokenizer,
                                 const std::function<bool(data::Batch&)>& next, int64_t total_batches,
                                 const EvalOptions& options) {
  if (tokenizer.vocab_size() != model.blank())
    throw Error(str_cat("evaluate: the tokenizer has ", tokenizer.vocab_size(), " pieces but the model has ",
                        model.blank(), " outputs before the blank"));
  autograd::NoGradGuard no_grad;
  const auto start = Clock::now();
  EvalResult r;
  double loss_sum = 0;
  int64_t done = 0;
  data::Batch batch;
  while (next(batch)) {
    models::CtcOutput out = model.forward(batch.features, batch.feature_lengths);
    // zero_infinity as NeMo's CTCLoss: an infeasible utterance counts 0, not inf.
    const std::vector<double> nll =
        to_doubles(ops::ctc_loss(out.log_probs, batch.tokens, out.lengths, batch.token_lengths, model.blank(),
                                 ops::CtcReduction::None, /*zero_infinity=*/true));
    const auto ids = text::ctc_greedy_decode(out.log_probs, out.lengths, model.blank());
    if (batch.utterance_ids.size() != ids.size() || batch.transcripts.size() != ids.size() ||
        batch.durations.size() != ids.size())
      throw Error(str_cat("evaluate: batch ", done, " holds ", ids.size(), " utterances but ",
                          batch.utterance_ids.size(), " ids, ", batch.transcripts.size(), " transcripts and ",
                          batch.durations.size(), " durations"));
    for (size_t b = 0; b < ids.size(); ++b) {
      UtteranceResult u;
      u.utterance_id = batch.utterance_ids[b];
      u.reference = batch.transcripts[b];
      u.hypothesis = tokenizer.decode(ids[b]);
      const text::ErrorRate w = text::word_error_rate({u.hypothesis}, {u.reference}, false);
      const text::ErrorRate c = text::word_error_rate({u.hypothesis}, {u.reference}, true);
      u.word_errors = w.errors;
      u.words = w.reference_length;
      u.char_errors = c.errors;
      u.chars = c.reference_length;
      u.loss = nll.at(b);
      r.word_errors += u.word_errors;
      r.words += u.words;
      r.char_errors += u.char_errors;
      r.chars += u.chars;
      loss_sum += u.loss;
      r.audio_seconds += batch.durations[b];
      ++r.utterances;
      if (options.keep_utterances) r.utterances_detail.push_back(std::move(u));
    }
    ++done;
    if (options.progress) options.progress(done, total_batches);
  }
  r.loss = r.utterances ? loss_sum / static_cast<double>(r.utterances) : 0.0;
  r.wer = r.words ? static_cast<double>(r.word_errors) / static_cast<double>(r.words) : 0.0;
  r.cer = r.chars ? static_cast<double>(r.char_errors) / static_cast<double>(r.chars) : 0.0;
  std::sort(r.utterances_detail.begin(), r.utterances_detail.end(),
            [](const UtteranceResult& a, const UtteranceResult& b) { return a.utterance_id < b.utterance_id; });
  r.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

EvalResult evaluate_batches(const models::ConformerCtcModel& model, const text::Tokenizer& tokenizer,
                            data::Loader& loader, const EvalOptions& options) {
  return evaluate_batch_stream(
      model, tokenizer, [&loader](data::Batch& b) { return loader.next(b); }, loader.batches_per_epoch(), options);
}

EvalResult evaluate_shards(const models::ConformerCtcModel& model, const text::Tokenizer& tokenizer,
                           const std::vector<std::string>& shard_dirs, const EvalOptions& options) {
  if (shard_dirs.empty()) throw Error("evaluate: no shard directories given");
  if (options.batch_size <= 0) throw Error(str_cat("evaluate: batch_size must be positive, got ", options.batch_size));
  data::LoaderConfig lc;
  lc.shard_dirs = shard_dirs;
  lc.batch_size = options.batch_size;
  lc.num_buckets = 1;  // one duration-sorted list: the least padding, every utterance once
  lc.shuffle = false;
  lc.rank = 0;
  lc.world_size = 1;
  lc.preprocessor_fingerprint = options.preprocessor_fingerprint;
  lc.tokenizer_fingerprint = options.tokenizer_fingerprint;
  data::Loader loader(lc);
  return evaluate_batches(model, tokenizer, loader, options);
}

}  // namespace asr::train
