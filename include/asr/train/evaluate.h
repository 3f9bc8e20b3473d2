#pragma once
// Greedy-CTC evaluation of a model on shard sets: CTC loss, WER and CER (NeMo's word/char error
// rates: total edits / total reference words or characters) and per-utterance hypotheses. The
// trainer's validation and `asr-adapt eval` both call it. References are the transcripts as the
// manifest gave them (what speech_to_text_eval.py compares against), not the token ids decoded.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "asr/data/loader.h"
#include "asr/models/conformer_ctc.h"
#include "asr/text/tokenizer.h"

namespace asr::train {

struct UtteranceResult {
  int64_t utterance_id = 0;  // global id from the shards (Batch::utterance_ids)
  std::string reference, hypothesis;
  int64_t word_errors = 0, words = 0, char_errors = 0, chars = 0;
  double loss = 0;  // this utterance's CTC negative log-likelihood
};

struct EvalResult {
  double loss = 0;  // mean per-utterance CTC NLL (NeMo's mean_batch over the whole set)
  double wer = 0, cer = 0;
  int64_t utterances = 0, words = 0, word_errors = 0, chars = 0, char_errors = 0;
  double audio_seconds = 0, wall_seconds = 0;
  std::vector<UtteranceResult> utterances_detail;  // sorted by utterance_id
};

struct EvalOptions {
  int64_t batch_size = 16;
  bool keep_utterances = true;
  std::function<void(int64_t done, int64_t total)> progress;  // optional, per batch
  // evaluate_shards: the fingerprints the shards must carry (data::preprocessor_fingerprint and
  // data::tokenizer_fingerprint of the model); empty = not checked.
  std::string preprocessor_fingerprint, tokenizer_fingerprint;
};

// Runs `model` as it is (the caller sets train(false) and adapters) over every utterance of the
// shard directories once, in shard order, under NoGradGuard.
EvalResult evaluate_shards(const models::ConformerCtcModel& model, const text::Tokenizer& tokenizer,
                           const std::vector<std::string>& shard_dirs, const EvalOptions& options = {});
// The same over already-made batches (the trainer's validation loader), until its epoch ends.
EvalResult evaluate_batches(const models::ConformerCtcModel& model, const text::Tokenizer& tokenizer,
                            data::Loader& loader, const EvalOptions& options = {});
// The same over any batch source (`asr-adapt eval --manifest` computes features in memory):
// `next` fills the next batch and returns false at the end; `total_batches` is only passed to
// options.progress (0 = unknown). Batch::features, feature_lengths, tokens, token_lengths,
// durations, transcripts and utterance_ids must be set.
EvalResult evaluate_batch_stream(const models::ConformerCtcModel& model, const text::Tokenizer& tokenizer,
                                 const std::function<bool(data::Batch&)>& next, int64_t total_batches,
                                 const EvalOptions& options = {});

}  // namespace asr::train
