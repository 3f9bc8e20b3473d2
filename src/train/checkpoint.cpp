// Training checkpoints (checkpoint.h): one folder per step, written under a temporary name and
// renamed into place, with a `latest` pointer replaced last.
#include "asr/train/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "asr/io/hdf5_handles.h"
#include "asr/io/hdf5_tensor.h"
#include "asr/util/disk_space.h"
#include "asr/util/fault_injection.h"

namespace asr::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "asr-adapt training state";
constexpr int64_t kSchemaVersion = 1;
constexpr const char* kStateFile = "state.h5";
constexpr const char* kPrefix = "step-";

// uint64 RNG words travel as the int64 with the same bits.
int64_t as_i64(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t as_u64(int64_t v) { return static_cast<uint64_t>(v); }

h5::Id create_group(hid_t parent, const char* name, const std::string& path) {
  h5::Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl, false);
  h5::Id g(H5Gcreate2(parent, name, H5P_DEFAULT, gcpl, H5P_DEFAULT), H5Gclose);
  if (!g.ok()) throw Error(str_cat(path, ": cannot create group ", name));
  return g;
}

// A small text file written with POSIX calls, so that a failure names its cause (errno).
void write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(str_cat(path, ": cannot create (", std::strerror(errno), ")"));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      throw Error(str_cat(path, ": cannot write (", std::strerror(err), ")"));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw Error(str_cat(path, ": cannot write (", std::strerror(errno), ")"));
}

void write_state_file(const std::string& path, const TrainingState& s) {
  h5::Quiet quiet;
  h5::Id fapl(h5::aligned_file_access(), H5Pclose);
  h5::Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
  if (!file.ok()) throw Error(str_cat(path, ": cannot create"));
  h5::write_string_attr(file, "format", kFormat, path);
  h5::write_int_attr(file, "schema_version", kSchemaVersion, path);
  h5::write_string_attr(file, "train_mode", s.train_mode, path);
  h5::write_string_attr(file, "base_fingerprint", s.base_fingerprint, path);
  const std::pair<const char*, int64_t> ints[] = {
      {"step", s.step},
      {"skipped_steps", s.skipped_steps},
      {"consecutive_nonfinite", s.consecutive_nonfinite},
      {"scheduler_step", s.scheduler_step},
      {"best_step", s.best_step},
      {"loader_epoch", s.loader.epoch},
      {"loader_batch_index", s.loader.batch_index},
      {"world_size", s.world_size},
      {"optimizer_step", s.optimizer.step}};
  for (const auto& [name, v] : ints) h5::write_int_attr(file, name, v, path);
  h5::write_double_attr(file, "audio_seconds", s.audio_seconds, path);
  h5::write_double_attr(file, "best_metric", s.best_metric, path);
  h5::write_string_attr(file, "optimizer", s.optimizer.optimizer, path);
  h5::write_tensor(file, "trainable", s.trainable, path);
  std::vector<int64_t> rng;  // [ranks, 4]: dropout seed/offset, augment seed/offset (uint64 bits)
  for (const RankRngState& r : s.rank_rng)
    for (uint64_t v : {r.dropout_seed, r.dropout_offset, r.augment_seed, r.augment_offset}) rng.push_back(as_i64(v));
  h5::write_tensor(file, "rank_rng", Tensor::from_vector(rng, {static_cast<int64_t>(s.rank_rng.size()), 4}), path);
  h5::Id opt = create_group(file, "optimizer", path);
  for (const auto& [name, tensors] : s.optimizer.buffers)
    for (size_t i = 0; i < tensors.size(); ++i) h5::write_tensor(opt, str_cat(name, ".", i), tensors[i], path);
  h5::Id bufs = create_group(file, "buffers", path);
  for (const auto& [name, t] : s.buffers) h5::write_tensor(bufs, name, t, path);
  h5::check(H5Fflush(file, H5F_SCOPE_GLOBAL), path, "flush");
}

}  // namespace

std::string checkpoint_folder_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%08lld", kPrefix, static_cast<long long>(step));
  return buf;
}

void write_pointer_file(const std::string& path, const std::string& target) {
  write_text_file_atomically(path, target + "\n");
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = str_cat(path, ".tmp-", ::getpid());
  try {
    write_text(tmp, text);
    h5::commit_file(tmp, path);
  } catch (...) {
    std::remove(tmp.c_str());  // the old file stays as it was
    throw;
  }
}

std::string write_checkpoint(const std::string& checkpoints_dir, const TrainingState& state,
                             const std::string& resolved_config_yaml,
                             const std::vector<CheckpointFile>& extra) {
  std::error_code ec;
  fs::create_directories(checkpoints_dir, ec);
  if (ec) throw Error(str_cat(checkpoints_dir, ": cannot create (", ec.message(), ")"));
  const std::string name = checkpoint_folder_name(state.step);
  const fs::path final_dir = fs::path(checkpoints_dir) / name;
  const fs::path tmp_dir = fs::path(checkpoints_dir) / str_cat(".tmp-", name, "-", ::getpid());
  fs::remove_all(tmp_dir, ec);
  fs::create_directory(tmp_dir, ec);
  if (ec) throw Error(str_cat(tmp_dir.string(), ": cannot create (", ec.message(), ")"));
  try {
    const std::string state_path = (tmp_dir / kStateFile).string();
    write_state_file(state_path, state);
    h5::fsync_path(state_path, false);
    fault::point("checkpoint.after_state_written", state_path);
    const std::string config_path = (tmp_dir / "config.yaml").string();
    write_text(config_path, resolved_config_yaml);
    h5::fsync_path(config_path, false);
    for (const auto& f : extra) {
      const std::string p = (tmp_dir / f.name).string();
      f.write(p);
      h5::fsync_path(p, false);
    }
    h5::fsync_path(tmp_dir.string(), true);
    fault::point("checkpoint.before_rename", tmp_dir.string());
    // A folder of the same step (a re-run after a crash between rename and pointer) is replaced.
    if (fs::exists(final_dir)) fs::remove_all(final_dir);
    fs::rename(tmp_dir, final_dir);
    h5::fsync_path(checkpoints_dir, true);
  } catch (const Error& e) {
    const std::string note = util::disk_full_note(checkpoints_dir);  // before the partial folder frees space
    fs::remove_all(tmp_dir, ec);  // nothing partial stays behind; `latest` still names the old one
    throw Error(str_cat("checkpoint of step ", state.step, " not written: ", e.what(), note));
  } catch (...) {
    fs::remove_all(tmp_dir, ec);
    throw;
  }
  fault::point("checkpoint.before_latest", (fs::path(checkpoints_dir) / "latest").string());
  write_pointer_file((fs::path(checkpoints_dir) / "latest").string(), name);
  return final_dir.string();
}

TrainingState read_training_state(const std::string& folder) {
  const std::string path = (fs::path(folder) / kStateFile).string();
  h5::Quiet quiet;
  h5::Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw Error(str_cat(path, ": cannot open as HDF5 (missing, truncated or corrupt)"));
  if (!h5::has_attr(file, "format") || h5::read_string_attr(file, "format", path) != kFormat)
    throw Error(str_cat(path, ": not an asr-adapt training state"));
  if (h5::read_int_attr(file, "schema_version", path) != kSchemaVersion)
    throw Error(str_cat(path, ": unsupported schema_version"));
  TrainingState s;
  s.train_mode = h5::read_string_attr(file, "train_mode", path);
  s.base_fingerprint = h5::read_string_attr(file, "base_fingerprint", path);
  s.step = h5::read_int_attr(file, "step", path);
  s.skipped_steps = h5::read_int_attr(file, "skipped_steps", path);
  s.consecutive_nonfinite = h5::read_int_attr(file, "consecutive_nonfinite", path);
  s.scheduler_step = h5::read_int_attr(file, "scheduler_step", path);
  s.best_step = h5::read_int_attr(file, "best_step", path);
  s.loader.epoch = h5::read_int_attr(file, "loader_epoch", path);
  s.loader.batch_index = h5::read_int_attr(file, "loader_batch_index", path);
  s.world_size = h5::read_int_attr(file, "world_size", path);
  const Tensor rng = h5::read_tensor(file, "rank_rng", path);
  if (rng.dtype() != DType::I64 || rng.dim() != 2 || rng.size(0) != s.world_size || rng.size(1) != 4)
    throw Error(str_cat(path, ": rank_rng must be i64 [world_size, 4], got ", rng.describe()));
  for (int64_t r = 0; r < s.world_size; ++r) {
    const int64_t* v = rng.data<int64_t>() + 4 * r;
    s.rank_rng.push_back({as_u64(v[0]), as_u64(v[1]), as_u64(v[2]), as_u64(v[3])});
  }
  s.audio_seconds = h5::read_double_attr(file, "audio_seconds", path);
  s.best_metric = h5::read_double_attr(file, "best_metric", path);
  s.optimizer.optimizer = h5::read_string_attr(file, "optimizer", path);
  s.optimizer.step = h5::read_int_attr(file, "optimizer_step", path);
  s.trainable = h5::read_tensor(file, "trainable", path);
  h5::Id opt(H5Gopen2(file, "optimizer", H5P_DEFAULT), H5Gclose);
  if (!opt.ok()) throw Error(str_cat(path, ": group /optimizer is missing"));
  for (const std::string& n : h5::member_names(opt, path)) {
    const size_t dot = n.rfind('.');
    if (dot == std::string::npos) throw Error(str_cat(path, ": unexpected optimizer dataset '", n, "'"));
    const size_t index = std::stoul(n.substr(dot + 1));
    auto& list = s.optimizer.buffers[n.substr(0, dot)];
    if (list.size() <= index) list.resize(index + 1);
    list[index] = h5::read_tensor(opt, n, path);
  }
  h5::Id bufs(H5Gopen2(file, "buffers", H5P_DEFAULT), H5Gclose);
  if (!bufs.ok()) throw Error(str_cat(path, ": group /buffers is missing"));
  for (const std::string& n : h5::member_names(bufs, path)) s.buffers[n] = h5::read_tensor(bufs, n, path);
  return s;
}

std::string latest_checkpoint(const std::string& checkpoints_dir) {
  const fs::path pointer = fs::path(checkpoints_dir) / "latest";
  std::ifstream in(pointer);
  if (!in) return "";
  std::string name;
  std::getline(in, name);
  if (name.empty() || name.find('/') != std::string::npos)
    throw Error(str_cat(pointer.string(), ": malformed pointer (expected a step-N folder name)"));
  const fs::path folder = fs::path(checkpoints_dir) / name;
  if (!fs::is_directory(folder))
    throw Error(str_cat(pointer.string(), ": points at ", name, ", which does not exist"));
  return folder.string();
}

void rotate_checkpoints(const std::string& checkpoints_dir, int64_t keep_last,
                        const std::vector<std::string>& keep) {
  std::vector<std::string> steps;
  std::vector<fs::path> stale;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints_dir, ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && n.rfind(kPrefix, 0) == 0) steps.push_back(n);
    // What a writer that was killed left behind (.tmp-step-N-<pid>/, latest.tmp-<pid>; the pid is
    // gone) would otherwise hold a checkpoint's worth of disk forever.
    if (n.find(".tmp-") != std::string::npos) {
      const long pid = std::strtol(n.c_str() + n.rfind('-') + 1, nullptr, 10);
      if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        stale.push_back(e.path());
    }
  }
  for (const auto& p : stale) fs::remove_all(p, ec);
  std::sort(steps.begin(), steps.end());  // zero-padded: lexical order is step order
  const int64_t excess = static_cast<int64_t>(steps.size()) - keep_last;
  for (int64_t i = 0; i < excess; ++i) {
    const fs::path p = fs::path(checkpoints_dir) / steps[static_cast<size_t>(i)];
    bool kept = false;
    for (const auto& k : keep) kept = kept || fs::path(k).filename() == p.filename();
    if (!kept) fs::remove_all(p, ec);
  }
}

}  // namespace asr::train
