# Sourced by the bench scripts: `ensure_built BUILD_DIR BINARY...` builds asr-adapt (deps from
# launch/install_deps.sh, then launch/build.sh into BUILD_DIR) when any of the programs is missing,
# so each benchmark runs from a fresh clone with one command.
ensure_built() {
  local dir=$1 missing=0 b
  shift
  for b in "$@"; do [[ -x $dir/bin/$b ]] || missing=1; done
  ((missing)) || return 0
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  echo "bench: building $* into $dir first (launch/install_deps.sh, launch/build.sh)" >&2
  bash "$root/launch/install_deps.sh" >&2
  BUILD_DIR=$dir bash "$root/launch/build.sh" >&2
  for b in "$@"; do
    [[ -x $dir/bin/$b ]] || { echo "bench: $dir/bin/$b is still missing after the build" >&2; return 1; }
  done
}
