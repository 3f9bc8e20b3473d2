// NeMo JSON-lines manifests: fields, NeMo's relative-path rule, and errors naming file:line.
#include <gtest/gtest.h>

#include "support/test_util.h"

#include <filesystem>
#include <functional>
#include <fstream>

#include "asr/core/error.h"
#include "asr/io/manifest.h"

namespace {

namespace fs = std::filesystem;
using asr::io::parse_manifest;
using asr::io::read_manifest;

// A fresh folder with data/m.json and data/wavs/a.wav (content irrelevant here).
struct ManifestDir {
  fs::path root = fs::path(asr::test::temp_path("manifest_test"));
  ManifestDir() {
    fs::remove_all(root);
    fs::create_directories(root / "data" / "wavs");
    std::ofstream(root / "data" / "wavs" / "a.wav") << "RIFF";
  }
  std::string write(const std::string& text) const {
    std::string p = (root / "data" / "m.json").string();
    std::ofstream(p) << text;
    return p;
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const asr::Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Manifest, ReadsFieldsInOrder) {
  auto e = parse_manifest(
      "{\"audio_filepath\": \"/abs/x.wav\", \"duration\": 1.5, \"text\": \"hello world\"}\n"
      "\n"
      "{\"audio_filepath\": \"/abs/y.flac\", \"duration\": 2, \"offset\": 0.25, \"text\": \"caf\u00e9\"}\n",
      "m.json");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].audio_filepath, "/abs/x.wav");
  EXPECT_DOUBLE_EQ(e[0].duration, 1.5);
  EXPECT_DOUBLE_EQ(e[0].offset, 0.0);
  EXPECT_EQ(e[0].text, "hello world");
  EXPECT_TRUE(e[0].has_text);
  EXPECT_EQ(e[0].line, 1);
  EXPECT_EQ(e[1].line, 3);  // the blank line is skipped but counted
  EXPECT_DOUBLE_EQ(e[1].offset, 0.25);
  EXPECT_EQ(e[1].text, "caf\u00e9");
}

TEST(Manifest, TextIsOptionalAndNormalizedTextIsAFallback) {
  auto e = parse_manifest("{\"audio_filepath\": \"/a.wav\", \"duration\": 1}\n"
                          "{\"audio_filepath\": \"/b.wav\", \"duration\": 1, \"normalized_text\": \"n\"}\n"
                          "{\"audio_filename\": \"/c.wav\", \"duration\": null, \"offset\": null}\n",
                          "m.json");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_FALSE(e[0].has_text);
  EXPECT_EQ(e[0].text, "");
  EXPECT_TRUE(e[1].has_text);
  EXPECT_EQ(e[1].text, "n");
  EXPECT_EQ(e[2].audio_filepath, "/c.wav");  // NeMo's older key
  EXPECT_DOUBLE_EQ(e[2].duration, 0.0);
}

TEST(Manifest, RelativePathsResolveAgainstTheManifestFolder) {
  ManifestDir d;
  std::string m = d.write("{\"audio_filepath\": \"wavs/a.wav\", \"duration\": 1}\n"
                          "{\"audio_filepath\": \"wavs/missing.wav\", \"duration\": 1}\n");
  auto e = read_manifest(m);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(fs::path(e[0].audio_filepath), d.root / "data" / "wavs" / "a.wav");
  // Not found next to the manifest either: kept as written (NeMo), so the loader names it.
  EXPECT_EQ(e[1].audio_filepath, "wavs/missing.wav");
}

TEST(Manifest, KeepsTheLineForOutput) {
  auto e = parse_manifest("{\"audio_filepath\": \"/a.wav\", \"duration\": 1, \"speaker\": 7}\n", "m.json");
  EXPECT_EQ(e[0].json, "{\"audio_filepath\": \"/a.wav\", \"duration\": 1, \"speaker\": 7}");
}

TEST(Manifest, MalformedLineNamesFileAndLine) {
  std::string msg = error_of([] {
    parse_manifest("{\"audio_filepath\": \"/a.wav\", \"duration\": 1}\n{\"audio_filepath\": \"/b.wav\", \n",
                   "dev.json");
  });
  EXPECT_NE(msg.find("dev.json:2: not a JSON object"), std::string::npos) << msg;
  msg = error_of([] { parse_manifest("[1, 2]\n", "dev.json"); });
  EXPECT_NE(msg.find("dev.json:1: not a JSON object"), std::string::npos) << msg;
}

TEST(Manifest, MissingOrMistypedFieldsNameFileLineAndKey) {
  std::string msg = error_of([] { parse_manifest("{\"duration\": 1}\n", "dev.json"); });
  EXPECT_NE(msg.find("dev.json:1: missing \"audio_filepath\""), std::string::npos) << msg;
  msg = error_of([] { parse_manifest("\n\n{\"audio_filepath\": \"/a.wav\"}\n", "dev.json"); });
  EXPECT_NE(msg.find("dev.json:3: missing \"duration\""), std::string::npos) << msg;
  msg = error_of([] { parse_manifest("{\"audio_filepath\": \"/a.wav\", \"duration\": \"long\"}\n", "dev.json"); });
  EXPECT_NE(msg.find("dev.json:1: \"duration\" must be a number"), std::string::npos) << msg;
  msg = error_of([] { parse_manifest("{\"audio_filepath\": 3, \"duration\": 1}\n", "dev.json"); });
  EXPECT_NE(msg.find("dev.json:1: \"audio_filepath\" must be a non-empty string"), std::string::npos) << msg;
  msg = error_of([] { parse_manifest("{\"audio_filepath\": \"/a\", \"duration\": 1, \"offset\": -1}\n", "d.json"); });
  EXPECT_NE(msg.find("d.json:1: \"offset\" must not be negative"), std::string::npos) << msg;
  msg = error_of([] { parse_manifest("{\"audio_filepath\": \"/a\", \"duration\": 1, \"text\": 5}\n", "d.json"); });
  EXPECT_NE(msg.find("d.json:1: \"text\" must be a string"), std::string::npos) << msg;
}

TEST(Manifest, MissingFileIsAnError) {
  std::string msg = error_of([] { read_manifest("/no/such/manifest.json"); });
  EXPECT_NE(msg.find("/no/such/manifest.json: cannot open manifest"), std::string::npos) << msg;
}

}  // namespace
