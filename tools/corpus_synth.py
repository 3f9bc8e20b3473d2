"""Speech synthesizers for tools/make_speech_corpus.py, one class per engine, chosen by a voice's
"engine:" prefix (none means espeak-ng). Each writes a mono s16 WAV at the engine's own rate.

Speed and pitch are on espeak-ng's scales for every engine, so one plan fits all voices:
speed in words per minute (REFERENCE_WPM is an engine's natural rate) and pitch 0-99 (50 is
the voice's own). flite stretches durations natively; festival's HTS voice ignores
Duration_Stretch, so festival speed and all non-espeak pitch go through sox `tempo`/`pitch`,
which are deterministic.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

REFERENCE_WPM = 160
CENTS_PER_PITCH_STEP = 8  # pitch 42..58 -> -64..+64 cents


class SynthesisError(Exception):
    pass


def run(cmd, what, stdin=None):
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SynthesisError(f"{what} failed ({' '.join(cmd)}): "
                             f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode(errors="replace")


def need(program, package):
    if not shutil.which(program):
        raise SynthesisError(f"{program} not found (apt-get install -y {package})")


def sox_speed_pitch(src, dst, speed, pitch):
    """Applies speed (tempo relative to REFERENCE_WPM) and pitch (cents) with sox, in place of an
    engine's own controls; copies when both are neutral."""
    effects = []
    if speed != REFERENCE_WPM:
        effects += ["tempo", "-s", f"{speed / REFERENCE_WPM:.4f}"]
    if pitch != 50:
        effects += ["pitch", str((pitch - 50) * CENTS_PER_PITCH_STEP)]
    if not effects:
        shutil.copyfile(src, dst)
        return
    run(["sox", "-D", src, dst] + effects, "sox tempo/pitch")


class EspeakNg:
    """espeak-ng voices as "language[+variant]", e.g. en+m3, en-us+f2. espeak-ng silently ignores
    an unknown variant, so variants are checked against its data folder."""

    name = "espeak-ng"
    package = "espeak-ng"

    def __init__(self):
        need("espeak-ng", self.package)
        self.version = run(["espeak-ng", "--version"], "espeak-ng --version").strip()
        m = re.search(r"Data at:\s*(\S+)", self.version)
        self.data_dir = m.group(1) if m else None

    def check_voice(self, voice):
        language, _, variant = voice.partition("+")
        if variant and self.data_dir and not os.path.isfile(
                os.path.join(self.data_dir, "voices", "!v", variant)):
            raise SynthesisError(f"espeak-ng voice {voice!r}: no variant {variant!r} in "
                                 f"{self.data_dir}/voices/!v")
        with tempfile.TemporaryDirectory() as tmp:  # an unknown language makes espeak-ng fail
            run(["espeak-ng", "-v", language, "-w", os.path.join(tmp, "probe.wav"), "test"],
                f"espeak-ng voice {voice!r}")

    def synthesize(self, text, voice, speed, pitch, wav_path):
        """Writes espeak-ng's own WAV (22.05 kHz mono s16)."""
        run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav_path, text],
            f"espeak-ng -v {voice}")


class Flite:
    """flite's built-in voices (`flite -lv`: kal, kal16, awb, rms, slt, awb_time). kal is 8 kHz,
    the others 16 kHz."""

    name = "flite"
    package = "flite"

    def __init__(self):
        need("flite", self.package)
        # `flite --version` prints its version and exits 1.
        r = subprocess.run(["flite", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.version = r.stdout.decode(errors="replace").strip().splitlines()[-1]
        listed = run(["flite", "-lv"], "flite -lv")
        self.voices = listed.split(":", 1)[-1].split()

    def check_voice(self, voice):
        if voice not in self.voices:
            raise SynthesisError(f"flite voice {voice!r} unknown (flite -lv: {' '.join(self.voices)})")

    def synthesize(self, text, voice, speed, pitch, wav_path):
        stretch = f"{REFERENCE_WPM / speed:.4f}"
        if pitch == 50:
            run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text,
                 "-o", wav_path], f"flite -voice {voice}")
            return
        plain = wav_path + ".flite.wav"
        run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text,
             "-o", plain], f"flite -voice {voice}")
        sox_speed_pitch(plain, wav_path, REFERENCE_WPM, pitch)
        os.remove(plain)


class Festival:
    """festival voices through text2wave, named as festival calls them (`voice_NAME`):
    kal_diphone (festvox-kallpc16k, 16 kHz), cmu_us_slt_arctic_hts (festvox-us-slt-hts, 32 kHz)."""

    name = "festival"
    package = "festival"
    VOICE_DIRS = "/usr/share/festival/voices"

    def __init__(self):
        need("text2wave", self.package)
        out = run(["festival", "--version"], "festival --version").strip()
        self.version = out.splitlines()[-1] if out else "festival"

    def installed_voices(self):
        found = []
        if os.path.isdir(self.VOICE_DIRS):
            for lang in sorted(os.listdir(self.VOICE_DIRS)):
                found += sorted(os.listdir(os.path.join(self.VOICE_DIRS, lang)))
        return found

    def check_voice(self, voice):
        if not re.fullmatch(r"[a-z0-9_]+", voice) or voice not in self.installed_voices():
            raise SynthesisError(
                f"festival voice {voice!r} not installed (have: "
                f"{' '.join(self.installed_voices()) or 'none'}; e.g. apt-get install -y "
                f"festvox-kallpc16k festvox-us-slt-hts)")

    def synthesize(self, text, voice, speed, pitch, wav_path):
        # The text goes through a file: text2wave reads text, never evaluates it.
        text_path = wav_path + ".txt"
        with open(text_path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        plain = wav_path + ".festival.wav"
        run(["text2wave", "-eval", f"(voice_{voice})", text_path, "-o", plain],
            f"text2wave voice_{voice}")
        os.remove(text_path)
        sox_speed_pitch(plain, wav_path, speed, pitch)
        os.remove(plain)


SYNTHESIZERS = {"espeak-ng": EspeakNg, "flite": Flite, "festival": Festival}


def split_voice(spec):
    engine, sep, voice = spec.partition(":")
    return (engine, voice) if sep else ("espeak-ng", spec)


def open_synthesizers(voice_specs):
    """One checked synthesizer per engine named in voice_specs; SynthesisError when an engine or
    voice is missing."""
    synths = {}
    for spec in voice_specs:
        engine, voice = split_voice(spec)
        if engine not in SYNTHESIZERS:
            raise SynthesisError(f"voice {spec!r}: unknown engine {engine!r} "
                                 f"(known: {', '.join(SYNTHESIZERS)})")
        if engine not in synths:
            synths[engine] = SYNTHESIZERS[engine]()
        synths[engine].check_voice(voice)
    return synths


if __name__ == "__main__":  # python3 tools/corpus_synth.py VOICE...: exit 0 when all are usable
    try:
        open_synthesizers(sys.argv[1:])
    except SynthesisError as e:
        sys.exit(str(e))
