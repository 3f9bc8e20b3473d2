// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/): small, valid inputs made
// with asr-adapt's own writers (and libsndfile / libarchive), so every seed exercises the whole
// parser. Run from the normal build: fuzz_make_seed_corpus tests/fuzz/corpus
// Seeds are committed; rerun only when a format changes. Every file stays well under 100 KB.
// Not byte-reproducible everywhere (gzip and Ogg headers, float WAV PEAK chunks carry times or
// random serials), which does not matter for seeds.
#include <sndfile.h>
#include <zip.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "asr/core/generator.h"
#include "asr/data/shard_format.h"
#include "asr/data/shard_writer.h"
#include "asr/io/model_config.h"
#include "asr/io/model_file.h"
#include "asr/io/torch_zip_writer.h"
#include "asr/models/adapter_file.h"
#include "asr/models/conformer_ctc.h"
#include "io/io_test_util.h"  // tar_bytes

namespace fs = std::filesystem;
using namespace asr;
using asr::iotest::tar_bytes;

namespace {

// A NeMo Conformer-CTC config small enough that its whole .nemo is a few tens of KB.
const char* kTinyModelYaml = R"(sample_rate: 16000
tokenizer:
  dir: /tmp/tokenizer
  type: bpe
  model_path: nemo:tokenizer.model
preprocessor:
  _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor
  sample_rate: 16000
  normalize: per_feature
  window_size: 0.025
  window_stride: 0.01
  window: hann
  features: 8
  n_fft: 512
  log: true
  dither: 1.0e-05
  pad_to: 0
encoder:
  _target_: nemo.collections.asr.modules.ConformerEncoder
  feat_in: 8
  n_layers: 1
  d_model: 8
  subsampling: striding
  subsampling_factor: 4
  subsampling_conv_channels: 4
  ff_expansion_factor: 2
  self_attention_model: rel_pos
  n_heads: 2
  att_context_size: [-1, -1]
  xscaling: true
  untie_biases: true
  pos_emb_max_len: 64
  conv_kernel_size: 3
  conv_norm_type: batch_norm
decoder:
  _target_: nemo.collections.asr.modules.ConvASRDecoder
  feat_in: 8
  num_classes: 3
  vocabulary: [a, b, c]
target: nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE
)";

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string zip_member(const std::string& zip_bytes, const std::string& suffix) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(zip_bytes.data(), zip_bytes.size(), 0, &err);
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &err);
  std::string out;
  for (zip_int64_t i = 0; z && i < zip_get_num_entries(z, 0); ++i) {
    std::string name = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    zip_stat_t st;
    zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st);
    out.resize(st.size);
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    zip_fread(f, out.data(), st.size);
    zip_fclose(f);
  }
  if (z) zip_discard(z);
  return out;
}

io::StateDict tiny_weights(const io::ModelConfig& config) {
  io::StateDict weights;
  int k = 0;
  for (const auto& [key, shape] : io::expected_weight_shapes(config, /*with_preprocessor=*/false)) {
    Tensor t = Tensor::empty(shape, key.find("num_batches_tracked") != std::string::npos ? DType::I64 : DType::F32);
    if (t.dtype() == DType::F32)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(std::sin(++k));
    else
      for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = 7;
    weights.emplace(key, t);
  }
  return weights;
}

void nemo_seeds(const fs::path& dir, const fs::path& fixtures) {
  const io::ModelConfig config = io::parse_model_config(kTinyModelYaml, "tiny.yaml");
  const std::string ckpt = io::torch_state_dict_bytes(tiny_weights(config));
  const std::vector<std::pair<std::string, std::string>> members = {
      {"model_config.yaml", kTinyModelYaml}, {"model_weights.ckpt", ckpt}, {"tokenizer.model", "spm-bytes"}};
  write(dir / "tiny.nemo", tar_bytes(members, false));
  write(dir / "tiny_gzip.nemo", tar_bytes(members, true));
  write(dir / "tiny_model_weights.ckpt", ckpt);
  write(dir / "tiny_data.pkl", zip_member(ckpt, "/data.pkl"));
  for (const char* name : {"mixed_dtypes.ckpt", "big_endian.ckpt"}) {
    const std::string bytes = read(fixtures / "io" / name);
    write(dir / name, bytes);
    write(dir / (std::string(name) + ".data.pkl"), zip_member(bytes, "/data.pkl"));
  }
  write(dir / "mixed_dtypes_p4.ckpt.data.pkl", zip_member(read(fixtures / "io/mixed_dtypes_p4.ckpt"), "/data.pkl"));
}

void write_audio(const fs::path& path, int format, int rate, int channels, int frames) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) throw Error(str_cat(path.string(), ": ", sf_strerror(nullptr)));
  std::vector<float> samples(static_cast<size_t>(frames * channels));
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = 0.5f * std::sin(0.05f * static_cast<float>(i));
  sf_writef_float(f, samples.data(), frames);
  sf_close(f);
  std::printf("%s (%jd bytes)\n", path.c_str(), static_cast<intmax_t>(fs::file_size(path)));
}

void audio_seeds(const fs::path& dir) {
  write_audio(dir / "mono_16k_pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 320);
  write_audio(dir / "stereo_8k_float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2, 160);
  write_audio(dir / "mono_44k_u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 44100, 1, 441);
  write_audio(dir / "mono_22k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, 441);
  write_audio(dir / "stereo_48k.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 2, 960);
  write_audio(dir / "mono_16k_ima.wav", SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 16000, 1, 505);
  write_audio(dir / "mono_11k.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 11025, 1, 220);
}

void shard_seeds(const fs::path& dir) {
  const fs::path work = fs::temp_directory_path() / "asr-fuzz-seed-shards";
  fs::remove_all(work);
  fs::create_directories(work);
  for (const char* dtype : {"f32", "f16"}) {
    data::ShardHeader header;
    header.preprocessor_fingerprint = "pp0123";
    header.tokenizer_fingerprint = "tk4567";
    header.n_mels = 4;
    header.feature_dtype = dtype;
    const fs::path path = work / str_cat("shard-", dtype, ".h5");
    data::ShardWriter writer(path.string(), header, /*chunk_frames=*/8);
    std::vector<float> features(4 * 6);
    for (size_t i = 0; i < features.size(); ++i) features[i] = 0.25f * static_cast<float>(i);
    writer.add(features.data(), 6, {1, 2, 3}, 0.06, "abc", "/audio/a.wav");
    writer.add(features.data(), 3, {2}, 0.03, "b", "/audio/b.wav");
    writer.finish();
    write(dir / str_cat("shard_", dtype, ".h5"), read(path));
  }
  data::ShardIndex index;
  index.preprocessor_fingerprint = "pp0123";
  index.tokenizer_fingerprint = "tk4567";
  index.n_mels = 4;
  index.shards = {{"shard-00000.h5", 2, 9, 0.09, "xxh64:0123456789abcdef"},
                  {"shard-00001.h5", 1, 3, 0.03, "xxh64:fedcba9876543210"}};
  data::write_shard_index(work.string(), index);
  write(dir / "index.json", read(work / "index.json"));
  fs::remove_all(work);
}

void adapter_seeds(const fs::path& dir) {
  const io::ModelConfig config = io::parse_model_config(kTinyModelYaml, "tiny.yaml");
  Generator gen(1);
  models::ConformerCtcModel model(config, gen);
  models::AdapterSpec linear;
  linear.name = "lin";
  linear.module = "encoder+decoder";
  linear.config = models::AdapterConfig::linear(4);
  model.add_adapter(linear);
  models::AdapterSpec mha;
  mha.name = "mha";
  mha.layers = {0};
  mha.config = models::AdapterConfig::rel_pos_mha(2, 4);
  model.add_adapter(mha);
  const fs::path path = fs::temp_directory_path() / "asr-fuzz-seed-adapter.h5";
  models::save_adapter_file(path.string(), model, {"lin"}, "fingerprint-abc", "tiny.nemo");
  write(dir / "linear_adapter.h5", read(path));
  models::save_adapter_file(path.string(), model, {}, "fingerprint-abc", "tiny.nemo");
  write(dir / "two_adapters.h5", read(path));
  fs::remove(path);
}

void text_seeds(const fs::path& corpus, const fs::path& repo) {
  write(corpus / "manifest" / "manifest.json",
        "{\"audio_filepath\": \"a.wav\", \"duration\": 1.5, \"text\": \"hello world\"}\n"
        "{\"audio_filename\": \"~/b.flac\", \"duration\": null, \"offset\": 0.25, \"normalized_text\": \"b\"}\r\n"
        "\n"
        "{\"audio_filepath\": \"/data/c.wav\", \"duration\": 2, \"extra\": [1, {\"x\": null}]}\n");
  for (const char* name : {"tiny_adapter.yaml", "adapter_linear.yaml", "mha_adapter.yaml", "full_finetune.yaml"}) {
    std::string yaml = read(repo / "configs" / name);
    if (yaml.size() > 8000) continue;
    write(corpus / "experiment_config" / name, yaml);
  }
  std::string with_overrides = read(repo / "configs/tiny_adapter.yaml");
  with_overrides += std::string("\0optim.lr=3e-4\0trainer.max_epochs=null\0adapters.0.dim=8", 55);
  write(corpus / "experiment_config" / "tiny_adapter_overrides.yaml", with_overrides);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s tests/fuzz/corpus\n", argv[0]);
    return 2;
  }
  const fs::path corpus = argv[1];
  const fs::path repo = fs::absolute(corpus).parent_path().parent_path().parent_path();
  for (const char* t : {"nemo", "experiment_config", "manifest", "audio", "shard", "adapter_file"})
    fs::create_directories(corpus / t);
  nemo_seeds(corpus / "nemo", repo / "tests/fixtures");
  audio_seeds(corpus / "audio");
  shard_seeds(corpus / "shard");
  adapter_seeds(corpus / "adapter_file");
  text_seeds(corpus, repo);
  return 0;
}
