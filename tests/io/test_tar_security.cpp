// .nemo archives come from other people: members that could escape the reader (absolute paths,
// "..", links, devices) or exhaust it (declared sizes no archive could hold) are refused naming
// the member, and nothing is ever written to disk.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>

#include "asr/io/tar_reader.h"
#include "io_test_util.h"
#include "support/test_util.h"

using namespace asr;
using namespace asr::io;
using asr::iotest::expect_error;

namespace {

// One tar member as the test wants it written, links and devices included.
struct Member {
  std::string name;
  std::string data;
  unsigned type = AE_IFREG;
  std::string link;       // symlink target (AE_IFLNK) or hard-link target (hardlink = true)
  bool hardlink = false;
};

std::string tar_in_memory(const std::vector<Member>& members, bool gzip = false) {
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  if (archive_write_open_memory(a, buffer.data(), buffer.size(), &used) != ARCHIVE_OK) throw Error("tar writer");
  for (const Member& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    if (m.hardlink) archive_entry_set_hardlink(e, m.link.c_str());
    else if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.link.c_str());
    if (m.type == AE_IFCHR || m.type == AE_IFBLK) archive_entry_set_rdev(e, 0x0103);
    archive_entry_set_size(e, m.type == AE_IFREG && !m.hardlink ? static_cast<la_int64_t>(m.data.size()) : 0);
    if (archive_write_header(a, e) != ARCHIVE_OK) throw Error(str_cat("tar writer: ", archive_error_string(a)));
    if (!m.data.empty() && !m.hardlink) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buffer.data(), used);
}

// A ustar header block for a regular file whose size field says `size` (octal when it fits in
// 11 digits, else GNU base-256), followed by `data` and the end-of-archive blocks. Nothing else
// is checked by a reader before the size is known, so the body may be far shorter than declared.
std::string raw_tar_claiming(const std::string& name, uint64_t size, const std::string& data) {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), name.size());
  std::memcpy(&h[100], "0000644", 7);
  std::memcpy(&h[108], "0000000", 7);
  std::memcpy(&h[116], "0000000", 7);
  if (size < (uint64_t{1} << 33)) {
    std::snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(size));
  } else {
    h[124] = static_cast<char>(0x80);
    for (int k = 0; k < 8; ++k) h[135 - k] = static_cast<char>((size >> (8 * k)) & 0xff);
  }
  std::memcpy(&h[136], "00000000000", 11);
  h[156] = '0';
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  std::string tar = h + data;
  tar.resize((tar.size() + 511) / 512 * 512 + 1024, '\0');
  return tar;
}

// gzip of `bytes` (libarchive's raw format writes the bytes as they are through the filter).
std::string gzip(const std::string& bytes) {
  std::vector<char> buffer(bytes.size() + (1 << 16));
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_write_header(a, e);
  archive_write_data(a, bytes.data(), bytes.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buffer.data(), used);
}

const Member kConfig{"./model_config.yaml", "a: 1\n"};

}  // namespace

TEST(TarSecurity, RegularFilesAreReadAndDirectoriesSkipped) {
  auto members = read_tar_members_from_memory(
      tar_in_memory({{"./", "", AE_IFDIR}, kConfig, {"./sub/", "", AE_IFDIR}, {"./sub/x.bin", "xyz"}}), "ok.nemo");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members.at("model_config.yaml"), "a: 1\n");
  EXPECT_EQ(members.at("sub/x.bin"), "xyz");
}

TEST(TarSecurity, AbsoluteMemberPathsAreRefused) {
  expect_error([] { read_tar_members_from_memory(tar_in_memory({kConfig, {"/etc/cron.d/evil", "x"}}), "abs.nemo"); },
               {"abs.nemo", "'/etc/cron.d/evil'", "absolute path", "refused"});
}

TEST(TarSecurity, DotDotComponentsAreRefused) {
  for (const std::string name : {"../evil", "./a/../../evil", "a/..", ".."})
    expect_error([&] { read_tar_members_from_memory(tar_in_memory({kConfig, {name, "x"}}), "dots.nemo"); },
                 {"dots.nemo", "'" + name + "'", "'..'", "refused"});
  // A name that merely contains two dots is fine.
  EXPECT_EQ(read_tar_members_from_memory(tar_in_memory({{"./a..b", "x"}}), "ok.nemo").count("a..b"), 1u);
}

TEST(TarSecurity, SymbolicLinksAreRefused) {
  Member link{"./model_weights.ckpt", "", AE_IFLNK, "/etc/passwd"};
  expect_error([&] { read_tar_members_from_memory(tar_in_memory({kConfig, link}), "symlink.nemo"); },
               {"symlink.nemo", "'./model_weights.ckpt'", "symbolic link", "refused"});
}

TEST(TarSecurity, HardLinksAreRefused) {
  Member link{"./model_weights.ckpt", "", AE_IFREG, "./model_config.yaml", true};
  expect_error([&] { read_tar_members_from_memory(tar_in_memory({kConfig, link}), "hardlink.nemo"); },
               {"hardlink.nemo", "'./model_weights.ckpt'", "hard link", "refused"});
}

TEST(TarSecurity, DevicesFifosAndSocketsAreRefused) {
  const std::pair<unsigned, const char*> kinds[] = {
      {AE_IFCHR, "character device"}, {AE_IFBLK, "block device"}, {AE_IFIFO, "FIFO"}};
  for (const auto& [type, words] : kinds)
    expect_error([&, type = type] { read_tar_members_from_memory(tar_in_memory({kConfig, {"./dev", "", type}}), "dev.nemo"); },
                 {"dev.nemo", "'./dev'", words, "refused"});
}

TEST(TarSecurity, DuplicateMemberNamesAreRefused) {
  expect_error([] { read_tar_members_from_memory(tar_in_memory({kConfig, {"model_config.yaml", "b: 2\n"}}), "dup.nemo"); },
               {"dup.nemo", "'model_config.yaml'", "twice"});
}

TEST(TarSecurity, DeclaredSizeBeyondAPlainArchiveIsRefusedBeforeAllocating) {
  // 2 KiB of archive whose one member claims 1 GiB, then 1 TiB (base-256 size field).
  for (uint64_t claim : {uint64_t{1} << 30, uint64_t{1} << 40}) {
    const std::string tar = raw_tar_claiming("model_weights.ckpt", claim, "tiny");
    const auto start = std::chrono::steady_clock::now();
    expect_error([&] { read_tar_members_from_memory(tar, "claims.nemo"); },
                 {"claims.nemo", "'model_weights.ckpt'", std::to_string(claim), "more than the whole"});
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  }
}

TEST(TarSecurity, GzipMembersPastTheUnpackedLimitAreRefused) {
  const uint64_t claim = kMaxTarUnpackedBytes + 1;
  const std::string tgz = gzip(raw_tar_claiming("model_weights.ckpt", claim, "tiny"));
  ASSERT_LT(tgz.size(), 200u);
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { read_tar_members_from_memory(tgz, "bomb.nemo"); },
               {"bomb.nemo", "'model_weights.ckpt'", std::to_string(claim), "16 GiB limit"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(TarSecurity, ReadingFromAFileWritesNothingToDisk) {
  namespace fs = std::filesystem;
  const fs::path dir = asr::test::temp_path("tar_no_extract");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path archive = dir / "m.nemo";
  iotest::write_file(archive.string(), tar_in_memory({kConfig, {"./sub/w.bin", std::string(100000, 'w')}}));
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);  // relative extraction, were there any, would land here
  auto members = read_tar_members(archive.string());
  fs::current_path(cwd);
  EXPECT_EQ(members.size(), 2u);
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(dir)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"m.nemo"});
  fs::remove_all(dir);
}

TEST(TarSecurity, MemoryAndFileReadersAgree) {
  const std::string tar = tar_in_memory({kConfig, {"./b", "bb"}});
  const std::string path = asr::test::temp_path("agree.nemo");
  iotest::write_file(path, tar);
  EXPECT_EQ(read_tar_members(path), read_tar_members_from_memory(tar, "agree.nemo"));
  std::filesystem::remove(path);
}
