#!/usr/bin/env bash
# Unattended check of the CUDA backend on a bare GPU machine (H100/H200 with the CUDA toolkit,
# PyTorch, cmake and ninja, but none of the build machine's Debian libraries).
#
#   1. on the build machine:  tools/bundle_gpu.sh          (writes gpu_bundle/)
#   2. on the GPU machine:    launch/gpu_check.sh OUTDIR   (from the repo root, gpu_bundle/ along)
#
# Finds the CUDA libraries (toolkit or PyTorch's nvidia/* wheels), prints the GPU, runs
# test_cuda (gtest XML), test_cuda again under compute-sanitizer (memcheck, initcheck), test_ops, asr-adapt
# train on the GPU against the CPU (launch/gpu_train_check.sh) and
# bench_core (JSON), then the step benchmark: an adapter-training step of Conformer-CTC Large
# (d_model 512, 18 layers, 8 heads, kernel 31, striding 4x, 128 tokens + blank, LinearAdapter dim
# 32 in every layer, base frozen; batch 16 x 16 s) in fp32 and bf16, asr-adapt (bench_train_step)
# against PyTorch (bench/torch_conformer.py --impl port: NeMo's modules ported to plain PyTorch)
# in alternating processes (A B A B), each 1 warm-up + 3 timed steps: step time, audio-s/s, MFU
# against the card's bf16 dense peak (from nvidia-smi's name), peak GPU memory, and the ratio.
# Then writes OUTDIR/summary.txt. Every step has a time limit; the tests share the budget minus
# a reserve for the step benchmark, which gets the rest; the whole run stays under ~8 minutes.
# Exit status: 0 all tests passed, 1 a test or check failed, 2 no bundle. The step benchmark
# never changes it: its failures and timeouts are reported in summary.txt.
# On a machine without a GPU it still runs: the GPU tests report as skipped, the step benchmark
# says it skipped.
#
# The bundle: bin.tar.xz (or bin/) and lib.tar.xz (or lib/), unpacked under /tmp for the run.
# Files in OUTDIR: summary.txt, gpu_check.log, test_cuda.xml, sanitizer.log, test_ops.xml,
# train_{cpu,cuda}_{fp32,bf16}.log and run_*.metrics.jsonl (launch/gpu_train_check.sh: asr-adapt
# train on the GPU against the CPU), bench.json, step_bench.txt, step_bench.json, step_bench.log.
#
# Environment (defaults in brackets): GPU_BUNDLE [gpu_bundle], GPU_CHECK_BUDGET_S [460: all timed
# steps], GPU_CHECK_BENCH [1; 0 skips the step benchmark], GPU_CHECK_BENCH_RESERVE_S [150: kept
# from the tests for it], GPU_CHECK_BENCH_DEVICE [cuda; cpu runs it here, e.g. with
# GPU_CHECK_BENCH_CONFIG=small GPU_CHECK_BENCH_BATCH=2 GPU_CHECK_BENCH_SECONDS=2 to check the
# plumbing], GPU_CHECK_BENCH_CONFIG [large], GPU_CHECK_BENCH_BATCH [16], GPU_CHECK_BENCH_SECONDS
# [16], GPU_CHECK_BENCH_ROUNDS [2], GPU_CHECK_BENCH_REPS [3 timed steps per process],
# GPU_CHECK_BENCH_PRECISIONS ["fp32 bf16"], GPU_CHECK_PY [python3: a Python with PyTorch],
# GPU_CHECK_PEAK_TFLOPS [from the GPU's name].
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=${GPU_BUNDLE:-$ROOT/gpu_bundle}
BUDGET_S=${GPU_CHECK_BUDGET_S:-460}  # hard ceiling for all timed steps together
BENCH=${GPU_CHECK_BENCH:-1}
BENCH_RESERVE_S=${GPU_CHECK_BENCH_RESERVE_S:-150}
BENCH_DEVICE=${GPU_CHECK_BENCH_DEVICE:-cuda}
BENCH_CONFIG=${GPU_CHECK_BENCH_CONFIG:-large}
BENCH_BATCH=${GPU_CHECK_BENCH_BATCH:-16}
BENCH_SECONDS=${GPU_CHECK_BENCH_SECONDS:-16}
BENCH_ROUNDS=${GPU_CHECK_BENCH_ROUNDS:-2}
BENCH_REPS=${GPU_CHECK_BENCH_REPS:-3}
BENCH_PRECISIONS=${GPU_CHECK_BENCH_PRECISIONS:-fp32 bf16}
BENCH_PY=${GPU_CHECK_PY:-python3}
BENCH_ADAPTER_DIM=32
TEST_BUDGET_S=$BUDGET_S  # lowered by the reserve when the step benchmark will run (main)

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
OUTDIR=$1
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

# Seconds a step may take: its own cap, but never past the budget (the tests': TEST_BUDGET_S;
# the step benchmark's: step_limit CAP $BUDGET_S).
step_limit() {
  local cap=$1 left=$((${2:-$TEST_BUDGET_S} - SECONDS))
  ((left < cap)) && cap=$left
  echo $((cap > 0 ? cap : 1))  # (timeout 0 would mean "no limit")
}

# "N passed, M failed, K skipped" from a gtest console log.
gtest_counts() {
  local log=$1 p f s
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  s=$(grep -oE '^\[  SKIPPED \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  echo "${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
}

# The step benchmark (after the tests; never changes the exit status). Alternates asr-adapt's
# bench_train_step (A) and PyTorch's bench/torch_conformer.py --impl port (B), one process each,
# BENCH_ROUNDS times per precision; every process does 1 warm-up + BENCH_REPS timed steps under
# its own time limit. Writes step_bench.{txt,json,log} and one summary line per figure.
step_bench() {
  local txt=$OUTDIR/step_bench.txt json=$OUTDIR/step_bench.json log=$OUTDIR/step_bench.log
  local what="Conformer-CTC $BENCH_CONFIG adapter step, batch $BENCH_BATCH x $BENCH_SECONDS s, $BENCH_DEVICE"
  rm -f "$txt" "$json"
  : >"$log"
  bench_skip() {
    note "step benchmark: SKIPPED ($1)"
    echo "step benchmark ($what): SKIPPED: $1" >"$txt"
    printf '{"status": "skipped", "reason": "%s"}\n' "$1" >"$json"
  }
  echo "== step benchmark: $what"
  if [[ $BENCH != 1 ]]; then bench_skip "GPU_CHECK_BENCH=$BENCH"; return 0; fi
  if [[ $BENCH_DEVICE == cuda && $gpu == none ]]; then bench_skip "no GPU on this machine"; return 0; fi
  local asr_bin=$BIN/bench_train_step sides=() torch_ok
  if [[ -x $asr_bin ]]; then sides+=(asr); else note "step benchmark: bench_train_step is not in the bundle: no asr-adapt side"; fi
  # The PyTorch side runs on this machine's own Python and libraries, not the bundle's.
  if torch_ok=$(LD_LIBRARY_PATH=$orig_ld timeout 60 "$BENCH_PY" -c \
      "import sys, torch; sys.exit(0 if '$BENCH_DEVICE' == 'cpu' or torch.cuda.is_available() else 'torch.cuda.is_available() is False'); " \
      2>&1 | tail -1); then
    sides+=(torch)
  else
    note "step benchmark: no PyTorch side ($BENCH_PY: ${torch_ok:-no output})"
  fi
  if ((${#sides[@]} == 0)); then bench_skip "neither side can run"; return 0; fi
  local threads prec r side t rc t0 cmd
  local -A timed_out=()
  threads=$(nproc)
  : >"$WORK/sb_runs.tsv"
  # Round-major (fp32 A B, bf16 A B, then round 2), so a short budget still gives every
  # precision one round. A side that timed out is not started again for that precision (its
  # timed steps printed before the limit still count).
  for r in $(seq "$BENCH_ROUNDS"); do
    for prec in $BENCH_PRECISIONS; do
      for side in "${sides[@]}"; do
        t=$(step_limit 90 "$BUDGET_S")
        if [[ -n ${timed_out[$prec.$side]:-} ]]; then
          printf '%s\t%s\t%s\tskipped\t0\n' "$prec" "$side" "$r" >>"$WORK/sb_runs.tsv"
          continue
        fi
        if ((t < 20)); then  # not worth starting: a process needs its start-up and warm-up first
          printf '%s\t%s\t%s\tbudget\t0\n' "$prec" "$side" "$r" >>"$WORK/sb_runs.tsv"
          continue
        fi
        if [[ $side == asr ]]; then
          cmd=("$asr_bin" --mode adapters --config "$BENCH_CONFIG" --device "$BENCH_DEVICE" --precision "$prec"
               --adapter-dim "$BENCH_ADAPTER_DIM" --batch "$BENCH_BATCH" --seconds "$BENCH_SECONDS"
               --warmup 1 --steps 1 --reps "$BENCH_REPS" --threads "$threads")
        else
          cmd=(env "LD_LIBRARY_PATH=$orig_ld" "$BENCH_PY" "$ROOT/bench/torch_conformer.py" --mode step --impl port
               --config "$BENCH_CONFIG" --device "$BENCH_DEVICE" --precision "$prec"
               --adapter-dim "$BENCH_ADAPTER_DIM" --batch "$BENCH_BATCH" --seconds "$BENCH_SECONDS"
               --warmup 1 --reps "$BENCH_REPS" --threads "$threads")
        fi
        echo "== step benchmark $prec round $r/$BENCH_ROUNDS: $([[ $side == asr ]] && echo asr-adapt || echo PyTorch) (limit ${t}s)"
        echo "===== $prec round $r $side: ${cmd[*]}" >>"$log"
        t0=$SECONDS
        timeout "$t" "${cmd[@]}" >"$WORK/sb_cur" 2>&1
        rc=$?
        cat "$WORK/sb_cur" >>"$log"
        grep -E '^(asr|torch) mode=' "$WORK/sb_cur" | tee -a "$WORK/sb_${prec}_${side}.out"
        [[ $rc == 0 ]] || { echo "   exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)'):"; tail -5 "$WORK/sb_cur" | sed 's/^/   /'; }
        printf '%s\t%s\t%s\t%s\t%s\n' "$prec" "$side" "$r" "$rc" "$((SECONDS - t0))" >>"$WORK/sb_runs.tsv"
        [[ $rc == 124 ]] && timed_out[$prec.$side]=1
      done
    done
  done
  local line
  while IFS= read -r line; do note "$line"; done < <(
    LD_LIBRARY_PATH=$orig_ld python3 - "$WORK" "$txt" "$json" "$gpu" "$BENCH_DEVICE" "$BENCH_CONFIG" "$BENCH_BATCH" \
      "$BENCH_SECONDS" "$BENCH_ADAPTER_DIM" "$BENCH_ROUNDS" "$BENCH_REPS" "${GPU_CHECK_PEAK_TFLOPS:-}" \
      "$BENCH_PRECISIONS" 2>>"$log" <<'PY' || echo "step benchmark: the report failed (see step_bench.log)"
import json, os, re, statistics, sys

(work, txt_path, json_path, gpu, device, config, batch, seconds, adim, rounds, reps, peak_env,
 precisions) = sys.argv[1:]
batch, seconds, adim, rounds, reps = int(batch), float(seconds), int(adim), int(rounds), int(reps)
SIZES = {"small": (176, 16, 4), "large": (512, 18, 8)}  # d_model, layers, heads; kernel 31, striding 4x
d, layers, heads = SIZES[config]


def gemm_flops(d, L, B, T, e=4, a=32, v1=129, feat=80, c=None):
    """GEMM FLOPs (2mnk) of one adapter-training step, as asr-adapt's CPU backend counts them:
    subsampling convs, every Linear / 1x1 conv, attention products; backward: input gradients
    through layers 1.. (the first adapter sits at layer 0's output), adapter weight gradients, no
    gradient for frozen weights or the positional projection; depthwise conv and elementwise
    work not counted. Matches bench_train_step's counter exactly on the CPU."""
    c = c or d
    t1, f1 = (T - 1) // 2 + 1, (feat - 1) // 2 + 1
    t, f2 = (t1 - 1) // 2 + 1, (f1 - 1) // 2 + 1
    n = B * t
    fwd = 2 * B * c * t1 * f1 * 9 + 2 * B * c * t * f2 * c * 9 + 2 * B * t * c * f2 * d
    per = (8 * n * e * d * d + 8 * n * d * d + 2 * (2 * t - 1) * d * d + 4 * B * t * t * d
           + 2 * B * t * (2 * t - 1) * d + 6 * n * d * d + 4 * n * d * a)
    fwd += L * per + 2 * n * d * v1
    back = (8 * n * e * d * d + 8 * n * d * d + 8 * B * t * t * d + 2 * B * t * (2 * t - 1) * d
            + 6 * n * d * d + 8 * n * d * a)
    bwd = (L - 1) * back + 8 * n * d * a + 2 * n * d * v1
    return fwd + bwd


flops = gemm_flops(d, layers, batch, int(seconds * 100), a=adim)
name = gpu.split(",")[0].strip()
up = name.upper()
if peak_env:
    peak, peak_what = float(peak_env), f"{float(peak_env):g} TFLOP/s (GPU_CHECK_PEAK_TFLOPS)"
elif device != "cuda" or name in ("", "none"):
    peak, peak_what = None, "none (no GPU: MFU not computed)"
elif ("H100" in up or "H200" in up or "GH200" in up) and "NVL" in up:
    peak, peak_what = 835.0, f"835 TFLOP/s (H100/H200 NVL bf16 dense, from the name '{name}')"
elif "H100" in up and ("PCIE" in up or "PCI-E" in up):
    peak, peak_what = 756.0, f"756 TFLOP/s (H100 PCIe bf16 dense, from the name '{name}')"
elif "H100" in up or "H200" in up or "GH200" in up:
    peak, peak_what = 989.0, f"989 TFLOP/s (H100 SXM / H200 bf16 dense, from the name '{name}')"
else:
    peak, peak_what = None, f"unknown for '{name}' (set GPU_CHECK_PEAK_TFLOPS): MFU not computed"

runs = []
with open(os.path.join(work, "sb_runs.tsv")) as fh:
    for row in fh:
        p, side, r, rc, wall = row.rstrip("\n").split("\t")
        runs.append(dict(precision=p, side=side, round=int(r), exit=rc, wall_s=int(wall)))
label = {"asr": "asr-adapt", "torch": "PyTorch"}
mem_key = "peak_gpu_mib" if device == "cuda" else "peak_rss_mib"
mem_name = "peak GPU" if device == "cuda" else "peak RSS"
audio = batch * seconds
result = dict(status="ok", what=f"Conformer-CTC {config} adapter-training step (d_model {d}, {layers} layers, "
              f"{heads} heads, kernel 31, striding 4x, 128 tokens + blank, LinearAdapter dim {adim} in every layer, "
              f"base frozen), forward + CTC + backward + AdamW", device=device, gpu=name or "none",
              batch=batch, seconds_per_utterance=seconds, rounds=rounds, timed_steps_per_process=reps,
              model_gflop_per_step=round(flops / 1e9, 3),
              model_flops_note="GEMM FLOPs as asr-adapt's CPU backend counts them (same work on both sides)",
              peak_tflops=peak, peak_tflops_source=peak_what, memory=mem_name, precisions={}, runs=runs)
lines, summary, problems = [], [], []
lines.append(f"step benchmark: {result['what']}")
lines.append(f"batch {batch} x {seconds:g} s ({audio:g} s of audio), device {device}, GPU {name or 'none'}; "
             f"{rounds} rounds A B A B, 1 warm-up + {reps} timed steps per process")
lines.append(f"model FLOPs per step: {flops / 1e9:.1f} GFLOP ({result['model_flops_note']}); MFU against {peak_what}")
lines.append("")
lines.append(f"{'precision':9s} {'side':10s} {'step median':>11s} {'fastest':>8s} {'audio-s/s':>10s} {'MFU':>7s} "
             f"{mem_name + ' MiB':>14s} {'steps':>5s}  {'counted GEMM GFLOP':>18s}")
summary.append(f"step benchmark: Conformer-CTC {config}, batch {batch} x {seconds:g} s, {device}; "
               f"MFU against {peak_what}")
for prec in precisions.split():
    per = {}
    for side in ("asr", "torch"):
        path = os.path.join(work, f"sb_{prec}_{side}.out")
        rows = []
        if os.path.exists(path):
            rows = [dict(re.findall(r"(\w+)=(\S+)", ln)) for ln in open(path) if ln.strip()]
        bad = [r for r in runs if r["precision"] == prec and r["side"] == side and r["exit"] != "0"]
        for r in bad:
            why = {"124": f"TIMED OUT after {r['wall_s']} s (steps timed before it count)",
                   "budget": "not run (time budget spent)",
                   "skipped": "not run (timed out in an earlier round)"}.get(r["exit"], f"exit {r['exit']}")
            problems.append(f"step benchmark {prec} {label[side]} round {r['round']}: {why}")
        if not rows:
            mine = [r for r in runs if r["precision"] == prec and r["side"] == side]
            if mine:
                started = [r for r in mine if r["exit"] not in ("budget", "skipped")]
                per[side] = dict(status="failed" if started else "not run", timed_steps=0)
            continue
        steps = [float(r["seconds_per_step"]) for r in rows]
        med = statistics.median(steps)
        mem = max(float(r.get(mem_key, -1)) for r in rows)
        s = dict(status="ok" if not bad else "partial", timed_steps=len(steps), step_s_median=round(med, 5),
                 step_s_min=round(min(steps), 5), step_s_all=steps, audio_s_per_s=round(audio / med, 2),
                 mfu=round(flops / med / (peak * 1e12), 5) if peak else None,
                 peak_memory_mib=mem if mem >= 0 else None)
        if side == "asr":
            s["counted_gemm_gflop_per_step"] = statistics.median(float(r["gemm_gflop_per_step"]) for r in rows)
        per[side] = s
    ratio = None
    if per.get("asr", {}).get("status") in ("ok", "partial") and per.get("torch", {}).get("status") in ("ok", "partial"):
        a, t = per["asr"], per["torch"]
        ratio = dict(throughput=round(t["step_s_median"] / a["step_s_median"], 3),
                     throughput_fastest=round(t["step_s_min"] / a["step_s_min"], 3))
        if a["peak_memory_mib"] and t["peak_memory_mib"]:
            ratio["memory"] = round(a["peak_memory_mib"] / t["peak_memory_mib"], 3)
    result["precisions"][prec] = dict(sides={label[k]: v for k, v in per.items()}, ratio_asr_over_torch=ratio)
    for side in ("asr", "torch"):
        s = per.get(side)
        if s is None:
            continue
        if s["status"] == "failed":
            lines.append(f"{prec:9s} {label[side]:10s} FAILED (no timed step; see step_bench.log)")
            summary.append(f"step benchmark {prec} {label[side]}: FAILED (no timed step; see step_bench.log)")
            continue
        if s["status"] == "not run":
            lines.append(f"{prec:9s} {label[side]:10s} NOT RUN (time budget spent)")
            summary.append(f"step benchmark {prec} {label[side]}: NOT RUN (time budget spent)")
            continue
        mfu = f"{100 * s['mfu']:.2f}%" if s["mfu"] is not None else "n/a"
        mem = f"{s['peak_memory_mib']:.0f}" if s["peak_memory_mib"] is not None else "n/a"
        counted = f"{s['counted_gemm_gflop_per_step']:.1f}" if side == "asr" else ""
        lines.append(f"{prec:9s} {label[side]:10s} {s['step_s_median']:9.3f} s {s['step_s_min']:6.3f} s "
                     f"{s['audio_s_per_s']:10.1f} {mfu:>7s} {mem:>14s} {s['timed_steps']:5d}  {counted:>18s}")
        summary.append(f"step benchmark {prec} {label[side]}: {s['step_s_median']:.3f} s/step (median of "
                       f"{s['timed_steps']}), {s['audio_s_per_s']:.1f} audio-s/s, MFU {mfu}, {mem_name} {mem} MiB")
    if ratio:
        mem_r = f", {mem_name} memory {ratio['memory']:.2f}x PyTorch's" if "memory" in ratio else ""
        lines.append(f"{prec:9s} ratio asr-adapt / PyTorch throughput: {ratio['throughput']:.2f}x (medians; fastest "
                     f"steps {ratio['throughput_fastest']:.2f}x){mem_r}")
        summary.append(f"step benchmark {prec} ratio asr-adapt/PyTorch: throughput {ratio['throughput']:.2f}x{mem_r}")
    else:
        lines.append(f"{prec:9s} ratio: n/a (a side has no timing)")
        summary.append(f"step benchmark {prec} ratio: n/a (a side has no timing)")
if problems:
    lines.append("")
    lines += problems
    summary += problems
sides_ok = [s for p in result["precisions"].values() for s in p["sides"].values() if s["status"] in ("ok", "partial")]
if not sides_ok:
    result["status"] = "failed"
elif problems or any(p["ratio_asr_over_torch"] is None for p in result["precisions"].values()):
    result["status"] = "partial"
result["problems"] = problems
with open(txt_path, "w") as fh:
    fh.write("\n".join(lines) + "\n")
with open(json_path, "w") as fh:
    json.dump(result, fh, indent=2)
    fh.write("\n")
for ln in summary:
    print(ln)
PY
  )
  echo "== step_bench.txt"
  cat "$txt" 2>/dev/null
}

main() {
  local failed=0 summary=()
  note() { summary+=("$*"); echo ">> $*"; }

  echo "== asr-adapt GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), host $(hostname), repo $ROOT"
  if [[ ! -f $BUNDLE/cuda_libs.txt ]] || [[ ! -x $BUNDLE/bin/test_cuda && ! -f $BUNDLE/bin.tar.xz ]]; then
    echo "error: no GPU bundle at $BUNDLE."
    echo "Make it on the build machine (Debian + CUDA toolkit), from the repo root:"
    echo "    tools/bundle_gpu.sh"
    echo "then bring gpu_bundle/ along to this machine (e.g. the device tool's carry=[\"gpu_bundle\"])."
    return 2
  fi
  cat "$BUNDLE/MANIFEST.txt" 2>/dev/null | sed -n '1,5p'

  # ---- the bundle's binaries and own libraries (packed: the device tool carries 64 MiB) -----
  WORK=$(mktemp -d /tmp/asr_gpu_check.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  unpack() {  # unpack ARCHIVE.tar.xz into $WORK (Python's tarfile where tar lacks xz)
    tar -C "$WORK" -xJf "$1" 2>/dev/null ||
      python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$WORK" ||
      { echo "error: cannot unpack $1"; return 1; }
  }
  BIN=$BUNDLE/bin
  if [[ ! -x $BIN/test_cuda ]]; then
    BIN=$WORK/bin
    unpack "$BUNDLE/bin.tar.xz" || return 1
  fi
  local lib=$BUNDLE/lib
  if [[ ! -d $lib ]]; then
    lib=$WORK/lib
    unpack "$BUNDLE/lib.tar.xz" || return 1
  fi

  # ---- the CUDA-family libraries: the loader's cache, the toolkit, or PyTorch's wheels -------
  local orig_ld=${LD_LIBRARY_PATH:-} cuda_dirs=() roots=() so found d
  roots+=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
  for d in /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib; do [[ -d $d ]] && roots+=("$d"); done
  # Python's site-packages (nvidia/*/lib, torch/lib), asked with the machine's own environment.
  while read -r d; do [[ -d $d/nvidia ]] && roots+=("$d/nvidia"); [[ -d $d/torch/lib ]] && roots+=("$d/torch/lib"); done < <(
    python3 -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null | sort -u)
  roots+=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
  local cache
  cache=$(ldconfig -p 2>/dev/null || true)
  for so in $(cat "$BUNDLE/cuda_libs.txt") libcuda.so.1; do
    found=""
    for d in "${roots[@]}"; do
      [[ -d $d ]] || continue
      found=$(find -L "$d" -maxdepth 4 -name "$so" -print -quit 2>/dev/null)
      [[ -n $found ]] && break
    done
    if [[ -n $found ]]; then
      d=$(dirname "$found")
      [[ " ${cuda_dirs[*]} " == *" $d "* || ":$orig_ld:" == *":$d:"* ]] || cuda_dirs+=("$d")
      echo "   $so: $found"
    elif grep -q " $so " <<<"$cache"; then
      echo "   $so: from the loader cache"
    elif [[ $so == libcuda.so.1 ]]; then
      echo "   $so: not found (the driver's library: needed only where there is a GPU)"
    else
      note "MISSING CUDA library $so (searched ${roots[*]})"
      failed=1
    fi
  done
  LD_LIBRARY_PATH=$lib
  for d in "${cuda_dirs[@]}"; do LD_LIBRARY_PATH+=":$d"; done
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH${orig_ld:+:$orig_ld}"

  # ---- compiler runtimes from lib/compat, only where this machine's are missing or too old ---
  local bins=() b need=()
  for b in "$BIN"/*; do bins+=("$b"); done
  if command -v ldd >/dev/null; then
    while read -r so; do
      [[ -e $lib/compat/$so ]] && need+=("$so")
    done < <(for b in "${bins[@]}"; do ldd "$b" 2>&1; done |
             sed -nE 's/^\s*(\S+) => not found.*/\1/p; s/.*: (\S+): version .* not found.*/\1/p' |
             xargs -r -n1 basename | sort -u)
  else
    need=($(ls "$lib/compat"))
  fi
  if ((${#need[@]})); then
    mkdir -p "$WORK/compat"
    for so in "${need[@]}"; do ln -sf "$lib/compat/$so" "$WORK/compat/$so"; done
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$WORK/compat"
    echo "   using the bundle's ${need[*]} (missing or too old here)"
  fi
  if command -v ldd >/dev/null; then
    local unresolved
    unresolved=$(for b in "${bins[@]}"; do ldd "$b" 2>&1 | grep 'not found' | sed "s|^|$(basename "$b"): |"; done)
    if [[ -n $unresolved ]]; then note "unresolved libraries:"; echo "$unresolved"; summary+=("$unresolved"); failed=1; fi
  fi
  echo "   LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

  # ---- the machine --------------------------------------------------------------------------
  echo "== GPU"
  local gpu="none"
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    nvidia-smi
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)
  else
    echo "no GPU visible (nvidia-smi missing or failing): the CUDA tests will be skipped"
  fi
  note "GPU: $gpu; CPU: $(nproc) cores; $(uname -srm)"
  # The step benchmark runs last on the time the tests leave, but at least BENCH_RESERVE_S of it.
  if [[ $BENCH == 1 ]] && [[ $BENCH_DEVICE == cpu || $gpu != none ]]; then
    TEST_BUDGET_S=$((BUDGET_S - BENCH_RESERVE_S))
  fi
  [[ -x $BIN/asr-adapt ]] && { echo "== asr-adapt --version"; timeout 30 "$BIN/asr-adapt" --version; }

  # ---- test_cuda ----------------------------------------------------------------------------
  echo "== test_cuda"
  local rc t
  t=$(step_limit 90)
  timeout "$t" "$BIN/test_cuda" --gtest_output="xml:$OUTDIR/test_cuda.xml" 2>&1 | tee "$WORK/test_cuda.log"
  rc=${PIPESTATUS[0]}
  note "test_cuda: $(gtest_counts "$WORK/test_cuda.log"), exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)')"
  grep -E '^\[  FAILED  \] [A-Za-z]' "$WORK/test_cuda.log" | sort -u | sed 's/^/   /' >>"$WORK/summary_extra"
  [[ $rc == 0 ]] || failed=1
  if grep -q '^\[  SKIPPED \] [0-9]' "$WORK/test_cuda.log" && [[ $gpu == none ]]; then
    note "GPU tests skipped: no CUDA device on this machine"
  fi

  # ---- compute-sanitizer over the same tests --------------------------------------------------
  local san=""
  for d in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
           /usr/local/cuda-*/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer \
           /opt/nvidia/*/compute-sanitizer; do
    [[ -n $d && -x $d ]] && { san=$d; break; }
  done
  if [[ $gpu == none ]]; then
    note "compute-sanitizer: not run (no GPU)"
  elif [[ -z $san ]]; then
    note "compute-sanitizer: not found"
  else
    # memcheck (out-of-bounds / misaligned accesses, API errors) decides pass/fail; initcheck
    # (reads of uninitialised device memory) is reported. No leak check: the caching allocator
    # and the never-destroyed backends hold their blocks until exit on purpose. The
    # out-of-memory test is left out: its deliberate 1 PiB cudaMalloc is an API error.
    local tool errs
    : >"$OUTDIR/sanitizer.log"
    for tool in memcheck initcheck; do
      echo "== compute-sanitizer $tool ($san)"
      t=$(step_limit 120)
      echo "===== compute-sanitizer --tool $tool" >>"$OUTDIR/sanitizer.log"
      timeout "$t" "$san" --tool "$tool" --error-exitcode 99 "$BIN/test_cuda" \
        --gtest_brief=1 --gtest_filter='-CudaBackend.OutOfMemoryIsAnError' >"$WORK/san.log" 2>&1
      rc=$?
      cat "$WORK/san.log" >>"$OUTDIR/sanitizer.log"
      tail -4 "$WORK/san.log"
      errs=$(grep -oE 'ERROR SUMMARY: [0-9]+' "$WORK/san.log" | grep -oE '[0-9]+$' | tail -1)
      if [[ $rc == 124 ]]; then
        note "compute-sanitizer $tool: TIMED OUT after ${t}s (not counted as a failure)"
      elif [[ -z $errs ]]; then
        note "compute-sanitizer $tool: did not run to its summary (exit $rc; see sanitizer.log; not counted as a failure)"
      elif [[ $errs != 0 ]]; then
        note "compute-sanitizer $tool: $errs ERRORS (see sanitizer.log)"
        [[ $tool == memcheck ]] && failed=1
      else
        note "compute-sanitizer $tool: 0 errors (tests exit $rc)"
        [[ $rc == 0 ]] || failed=1
      fi
    done
  fi

  # ---- test_ops (CPU kernels, on this machine's many cores) ---------------------------------
  if [[ -x $BIN/test_ops ]]; then
    echo "== test_ops"
    t=$(step_limit 90)
    timeout "$t" "$BIN/test_ops" --gtest_brief=1 --gtest_output="xml:$OUTDIR/test_ops.xml" 2>&1 | tee "$WORK/test_ops.log"
    rc=${PIPESTATUS[0]}
    note "test_ops: $(gtest_counts "$WORK/test_ops.log"), exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)')"
    grep -E '^\[  FAILED  \] [A-Za-z]' "$WORK/test_ops.log" | sort -u | sed 's/^/   /' >>"$WORK/summary_extra"
    [[ $rc == 0 ]] || failed=1
  else
    note "test_ops: not in the bundle"
  fi

  # ---- asr-adapt train on the GPU against the CPU (fp32 and bf16, the fixture model) ----------
  if [[ -x $BIN/asr-adapt ]]; then
    echo "== gpu train check (launch/gpu_train_check.sh)"
    t=$(step_limit 120)
    ASR_PY_LD_LIBRARY_PATH=$orig_ld timeout "$t" "$ROOT/launch/gpu_train_check.sh" "$BIN/asr-adapt" \
      "$WORK/train_check" 2>&1 | tee "$WORK/train_check.log"
    rc=${PIPESTATUS[0]}
    cp "$WORK"/train_check/train_*.log "$OUTDIR/" 2>/dev/null
    for d in "$WORK"/train_check/run_*; do [[ -f $d/metrics.jsonl ]] && cp "$d/metrics.jsonl" "$OUTDIR/$(basename "$d").metrics.jsonl"; done
    if [[ $rc == 124 ]]; then
      note "gpu train check: TIMED OUT after ${t}s"
    else
      note "$(tail -1 "$WORK/train_check.log" | cut -c1-220)"
    fi
    [[ $rc == 0 ]] || failed=1
  else
    note "gpu train check: asr-adapt is not in the bundle"
  fi

  # ---- bench_core ---------------------------------------------------------------------------
  echo "== bench_core"
  t=$(step_limit 120)
  timeout "$t" "$BIN/bench_core" --benchmark_out="$OUTDIR/bench.json" \
    --benchmark_out_format=json --benchmark_min_time=0.2 2>&1
  rc=$?
  if [[ $rc == 0 ]]; then
    note "bench_core: done (bench.json)"
  else
    note "bench_core: exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)')"
    failed=1
  fi
  if [[ -s $OUTDIR/bench.json ]]; then
    LD_LIBRARY_PATH=$orig_ld python3 - "$OUTDIR/bench.json" >"$WORK/bench_table" 2>/dev/null <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    name = b["name"].replace("/real_time", "")
    if b.get("error_occurred"):
        print(f"   {name:48s} ERROR: {b.get('error_message', '')[:70]}")
        continue
    extra = "  ".join(f"{k}={b[k]:.4g}" for k in ("GFLOPS", "frac_of_raw", "GBps", "fwd_GBps", "utts") if k in b)
    print(f"   {name:48s} {b['real_time']:12.1f} {b['time_unit']}  {extra}")
PY
    cat "$WORK/bench_table"
  fi

  # ---- step benchmark: Conformer-CTC Large adapter step, asr-adapt vs PyTorch -----------------
  step_bench

  # ---- summary ------------------------------------------------------------------------------
  {
    echo "asr-adapt GPU check: $([[ $failed == 0 ]] && echo PASS || echo FAIL)   ($(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS}s)"
    sed -n '2,3p' "$BUNDLE/MANIFEST.txt" 2>/dev/null
    printf '%s\n' "${summary[@]}"
    [[ -s $WORK/summary_extra ]] && { echo "failed tests:"; cat "$WORK/summary_extra"; }
    [[ -s $WORK/bench_table ]] && { echo "benchmarks:"; cat "$WORK/bench_table"; }
  } >"$OUTDIR/summary.txt"
  echo "== summary ($OUTDIR/summary.txt)"
  cat "$OUTDIR/summary.txt"
  return $failed
}

main "$@" 2>&1 | tee "$OUTDIR/gpu_check.log"
exit "${PIPESTATUS[0]}"
