#pragma once
// The few Unicode facts NeMo's text handling relies on through Python: str is a sequence of code
// points, str.split() and the regex \s use Unicode whitespace, and punctuation is general
// category P*.
#include <cstdint>
#include <string>
#include <vector>

namespace asr::text {

// UTF-8 -> code points. Malformed bytes become U+FFFD (one per byte), never an error: the text
// comes from users' manifests and the model's own pieces.
std::vector<char32_t> utf8_decode(const std::string& s);
std::string utf8_encode(char32_t cp);

// Python's str.isspace(): the 29 code points it (and re's \s) treats as whitespace.
bool is_space(char32_t cp);
// unicodedata.category(c).startswith("P"), from the Unicode 14.0 tables of Python 3.11.
bool is_punctuation(char32_t cp);

// Python's str.split() with no argument: runs of whitespace separate, empty words dropped.
std::vector<std::string> split_words(const std::string& s);

}  // namespace asr::text
