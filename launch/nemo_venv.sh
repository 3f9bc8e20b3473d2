#!/usr/bin/env bash
# Creates .venv-nemo: NeMo 3.0.0 (nemo_toolkit[asr]) and the PyTorch it pulls in, from PyPI. The
# benchmarks that compare against NeMo (bench/vs_pytorch.sh, bench/shard_throughput.sh) and the
# fixture scripts in tools/ run it. Several GB and a few minutes; nothing else needs it.
#   bash launch/nemo_venv.sh            (does nothing when .venv-nemo already imports nemo)
# Prints the venv's python path on its last line.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${NEMO_VENV:-$ROOT/.venv-nemo}
if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c "import nemo.collections.asr" >/dev/null 2>&1; then
  echo "$VENV/bin/python"
  exit 0
fi
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  { echo "nemo_venv: NeMo 3.0 needs Python >= 3.10 ($PY is $("$PY" --version 2>&1))" >&2; exit 1; }
echo "nemo_venv: creating $VENV (nemo_toolkit[asr]==3.0.0 from PyPI; a few minutes)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip >&2
"$VENV/bin/pip" install --quiet "nemo_toolkit[asr]==3.0.0" h5py >&2
"$VENV/bin/python" -c "import nemo.collections.asr" >&2
echo "$VENV/bin/python"
