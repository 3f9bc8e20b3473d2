#!/usr/bin/env bash
# ctest wrapper: bench/torch_conformer_port.py against NeMo's own modules (tools/check_torch_port.py
# --quick: the tiny configs, float64, bitwise-tight tolerance). Exit 77 (skipped) without .venv-nemo.
#   tests/bench/check_torch_port.sh REPO_ROOT
set -uo pipefail
ROOT=${1:?usage: check_torch_port.sh REPO_ROOT}
PY=${NEMO_PY:-$ROOT/.venv-nemo/bin/python}
if [[ ! -x $PY ]]; then
  echo "SKIP: no NeMo Python at $PY (make .venv-nemo with launch/nemo_venv.sh)"
  exit 77
fi
exec "$PY" "$ROOT/tools/check_torch_port.py" --quick --threads 2
