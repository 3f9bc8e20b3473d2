"""Transcripts for tools/make_speech_corpus.py: one generator per text style, all yielding
(transcript, spoken) pairs. The transcript is lowercase [a-z' ] (what the manifest and the
tokenizer see); `spoken` is what the synthesizer is given, which differs only where a
synthesizer would misread the transcript (the lone letter "a" of a spelled word).

Styles:
  commands   built-in smart-home commands ("turn off the kitchen light")
  templates  built-in short sentences and digit strings (the old `general` style)
  general    sentences from text Debian ships: fortune databases, else /usr/share/doc
  an4        AN4-like: spelled words ("p i t t s b u r g h"), digit strings, short commands
"""
import gzip
import os
import random
import re
import subprocess

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n):
    """Cardinal words for 0 <= n < 10**6; longer digit runs are read digit by digit."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


def spell_digits(text):
    def spell(m):
        digits = m.group(0)
        if len(digits) > 6 or (len(digits) > 1 and digits[0] == "0"):
            return " ".join(ONES[int(d)] for d in digits)
        return number_words(int(digits))
    text = re.sub(r"(?<=[0-9]),(?=[0-9]{3})", "", text)  # 3,000
    return re.sub(r"[0-9]+", lambda m: f" {spell(m)} ", text)


def normalize_text(text):
    """Lowercase, digits spelled out, only [a-z' ], single spaces, no apostrophe at a word's
    edge (quotes): what the manifests and the tokenizer see."""
    text = re.sub(r"[^a-z' ]+", " ", spell_digits(text.lower()))
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


# --------------------------------------------------------------------------------------------
# Built-in vocabularies: commands and templates (unchanged since the first version, so their
# corpora stay byte-identical for the same seed)
# --------------------------------------------------------------------------------------------
DIGITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
DEVICES = ["light", "lamp", "fan", "radio", "heater", "music", "television", "oven", "alarm"]
ROOMS = ["kitchen", "bedroom", "garden", "hall", "office", "bathroom", "garage"]
ACTIONS = ["turn on", "turn off", "start", "stop", "check", "open", "close", "reset"]
SIMPLE_COMMANDS = ["stop", "go back", "cancel that", "yes please", "no thanks", "start again",
                   "what time is it", "call home", "play the next song", "read my messages",
                   "louder please", "make it quieter", "show the weather"]
UNITS = ["minutes", "seconds", "hours"]

DET = ["the", "a", "my", "your", "this", "that", "every", "one"]
ADJ = ["red", "green", "old", "new", "small", "big", "quiet", "happy", "cold", "bright", "slow",
       "quick", "warm", "dark"]
NOUN = ["cat", "dog", "door", "apple", "river", "house", "teacher", "car", "bird", "window",
        "letter", "train", "friend", "city", "table", "song", "boat", "book", "tree", "horse"]
VERB = ["sees", "opens", "finds", "likes", "paints", "follows", "carries", "watches", "needs",
        "keeps", "wants", "hears"]
PREP = ["on", "near", "under", "behind", "at", "in", "over", "beside"]


def commands_sentence(rng):
    c = rng.choice
    templates = [
        lambda: f"{c(ACTIONS)} the {c(DEVICES)}",
        lambda: f"{c(ACTIONS)} the {c(ROOMS)} {c(DEVICES)}",
        lambda: f"set a timer for {c(DIGITS)} {c(UNITS)}",
        lambda: c(SIMPLE_COMMANDS),
        lambda: f"go to room {c(DIGITS)} {c(DIGITS)}",
        lambda: f"is the {c(DEVICES)} in the {c(ROOMS)} on",
        lambda: f"wake me at {c(DIGITS)} o'clock",
    ]
    return c(templates)()


def templates_sentence(rng):
    c = rng.choice
    templates = [
        lambda: f"{c(DET)} {c(ADJ)} {c(NOUN)} {c(VERB)} {c(DET)} {c(NOUN)}",
        lambda: f"{c(DET)} {c(NOUN)} sat {c(PREP)} the {c(NOUN)}",
        lambda: f"{c(DIGITS)} {c(ADJ)} {c(NOUN)}s",
        lambda: f"where is {c(DET)} {c(NOUN)}",
        lambda: f"{c(DIGITS)} {c(DIGITS)} {c(DIGITS)} {c(DIGITS)}",
        lambda: f"it's {c(ADJ)} {c(PREP)} the {c(NOUN)} today",
    ]
    return c(templates)()


# --------------------------------------------------------------------------------------------
# AN4-like text: spelled words, digit strings, short commands
# --------------------------------------------------------------------------------------------
SPELLED_WORDS = ["pittsburgh", "carnegie", "mellon", "forbes", "avenue", "murray", "baker",
                 "hamilton", "wilson", "roberts", "miller", "harris", "kent", "fisher", "morgan",
                 "oakland", "erie", "butler", "allen", "dallas", "boston", "denver", "camden",
                 "street", "road", "lane", "park", "smith", "taylor", "clark", "lewis", "walker"]
AN4_COMMANDS = ["rubout", "erase", "help", "repeat", "stop", "go", "no", "yes", "start",
                "enter", "end", "cancel", "next", "previous", "clear", "quit"]
DIGIT_WORDS = ["zero", "oh"] + ONES[1:10]
# The letter "a" alone is read as the article ("uh") by espeak-ng, flite and festival; this
# spelling makes all three say the letter name.
LETTER_SPOKEN = {"a": "eigh"}


def spelled(word):
    letters = list(word)
    return " ".join(letters), " ".join(LETTER_SPOKEN.get(ch, ch) for ch in letters)


def an4_sentence(rng):
    c = rng.choice
    r = rng.random()
    if r < 0.35:
        word = c(SPELLED_WORDS) if rng.random() < 0.7 else "".join(
            c("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 6)))
        text, spoken = spelled(word)
        if rng.random() < 0.3:  # AN4 often frames the spelling
            lead = c(["spell", "the name is", "enter"])
            return f"{lead} {text}", f"{lead} {spoken}"
        return text, spoken
    if r < 0.7:
        digits = " ".join(c(DIGIT_WORDS) for _ in range(rng.randint(2, 7)))
        lead = c(["", "", "enter ", "my number is ", "room "])
        return lead + digits, lead + digits
    if r < 0.85:
        words = c(AN4_COMMANDS)
        return words, words
    words = f"{c(AN4_COMMANDS)} {c(DIGIT_WORDS)} {c(DIGIT_WORDS)}"
    return words, words


# --------------------------------------------------------------------------------------------
# General sentences from text Debian ships
# --------------------------------------------------------------------------------------------
FORTUNE_DIR = "/usr/share/games/fortunes"
DOC_DIR = "/usr/share/doc"
# An entry with an abbreviation or an initial ("Mr.", "J. R.") is dropped whole: the sentence
# splitter would cut it wrongly and the synthesizer would expand what the transcript abbreviates.
ABBREVIATION = re.compile(r"\b(?:[A-Za-z]|Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|Inc|Ltd|Co|Prof|Gen|Col|"
                          r"Capt|Rev|Sgt|Lt|Mt|No|Vol|Fig|ca|cf|al|viz|approx)\.")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]*\s+(?=[\"'(]*[A-Z])")
# Anything else (URLs, code, markup, foreign letters) makes a sentence unusable.
PLAIN_SENTENCE = re.compile(r"[A-Za-z0-9 ,;:'\"()!?.\-]+")
ACRONYM = re.compile(r"[A-Z][A-Z]")  # spoken letter by letter by the synthesizer


def _read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="strict") as f:
            return f.read(1 << 20)
    except (OSError, UnicodeDecodeError, EOFError):
        return ""


def fortune_files():
    if not os.path.isdir(FORTUNE_DIR):
        return []
    # Top level only: offensive fortunes live in off/ and are never used.
    names = sorted(n for n in os.listdir(FORTUNE_DIR)
                   if not n.endswith((".dat", ".u8")) and os.path.isfile(os.path.join(FORTUNE_DIR, n)))
    return [os.path.join(FORTUNE_DIR, n) for n in names]


def doc_files():
    found = []
    for root, dirs, files in os.walk(DOC_DIR):
        dirs.sort()
        for n in sorted(files):
            if re.fullmatch(r"(README|NEWS|.*\.txt)(\.gz)?", n, re.I) and "changelog" not in n.lower():
                found.append(os.path.join(root, n))
    return found


def text_entries(path, fortune):
    """A fortune file's entries (between '%' lines), or a document's paragraphs."""
    text = _read_text(path)
    parts = re.split(r"^%\s*$" if fortune else r"\n\s*\n", text, flags=re.M)
    for part in parts:
        # Attribution lines ("    -- Mark Twain") are not part of the sentence.
        lines = [ln for ln in part.splitlines() if not re.match(r"\s*--", ln)]
        yield " ".join(ln.strip() for ln in lines).strip()


def sentences_from_entry(entry, min_words, max_words):
    if not entry or ABBREVIATION.search(entry):
        return
    for raw in SENTENCE_END.split(entry):
        raw = raw.strip()
        if not PLAIN_SENTENCE.fullmatch(raw) or ACRONYM.search(raw):
            continue
        text = normalize_text(raw)
        if min_words <= len(text.split()) <= max_words:
            yield text


def debian_sentences(min_words=3, max_words=15):
    """All distinct usable sentences, in file order, and the source it came from."""
    files, source = fortune_files(), "fortune"
    if not files:
        files, source = doc_files(), "doc"
    seen, out = set(), []
    for path in files:
        for entry in text_entries(path, source == "fortune"):
            for s in sentences_from_entry(entry, min_words, max_words):
                if s not in seen:
                    seen.add(s)
                    out.append(s)
    return out, source, files


def debian_text_version(source):
    """Package versions the general text came from (for corpus.json)."""
    pkgs = ["fortune-mod", "fortunes-min", "fortunes"] if source == "fortune" else []
    versions = {}
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        if r.returncode == 0 and r.stdout:
            versions[p] = r.stdout.decode()
    return versions


# --------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------
GENERATED_STYLES = {"commands": commands_sentence, "templates": templates_sentence,
                    "an4": an4_sentence}
TEXT_STYLES = sorted(list(GENERATED_STYLES) + ["general"])


def _check_vocabulary():
    words = set()
    for group in (DIGITS, DEVICES, ROOMS, ACTIONS, SIMPLE_COMMANDS, UNITS, DET, ADJ, NOUN, VERB,
                  PREP, ["o'clock", "it's", "room", "timer", "sat", "where", "is", "wake"]):
        for phrase in group:
            words.update(phrase.split())
    bad = sorted(w for w in words if normalize_text(w) != w or set(w) & set("jz"))
    assert not bad, f"vocabulary words outside [a-z'] or with j/z: {bad}"


_check_vocabulary()


def sentence_stream(style, seed, alphabet, min_words=3, max_words=15):
    """Distinct (transcript, spoken) pairs in a fixed order for (style, seed), keeping only
    transcripts whose characters are all in `alphabet` (plus space). Ends when the style has
    no more (general: the text is used up; generated: 1000 draws in a row gave nothing new)."""
    allowed = set(alphabet) | {" "}
    if style == "general":
        sentences, _, _ = debian_sentences(min_words, max_words)
        random.Random(f"{seed}:text:general").shuffle(sentences)
        for s in sentences:
            if set(s) <= allowed:
                yield s, s
        return
    # `templates` was called `general` in the first version; its seed string is kept so its
    # corpora stay byte-identical.
    rng = random.Random(f"{seed}:text:{'general' if style == 'templates' else style}")
    make = GENERATED_STYLES[style]
    seen, misses = set(), 0
    while misses < 1000:
        made = make(rng)
        text, spoken = made if isinstance(made, tuple) else (made, made)
        text = normalize_text(text)
        if text in seen or not set(text) <= allowed:
            misses += 1
            continue
        misses = 0
        seen.add(text)
        yield text, normalize_text(spoken)
