#!/usr/bin/env bash
# Installs Debian's Slurm (slurmctld, slurmd, the client commands) and MUNGE, which the local
# one-node cluster of launch/slurm_local.sh and the tests in tests/cluster/ need. Idempotent: a
# machine that has them already is left alone. Kept out of launch/install_deps.sh because only the
# cluster tests use it; they call it themselves.
#
# Installs no configuration and starts no service: launch/slurm_local.sh writes its own
# slurm.conf and MUNGE key under the folder it is given and runs private daemons from there, so
# nothing here touches /etc/slurm. (Debian's packages may try to start their services on install;
# without a config slurmctld/slurmd exit at once, which is harmless.)
#
# Exit status: 0 installed (or already there), 1 the install failed, 77 cannot install here
# (not root and no sudo, or not a Debian-like system): the caller may skip.
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_slurm: ${PACKAGES[*]} already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install_slurm: no apt-get here; install ${missing[*]} by hand" >&2
  exit 77
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "install_slurm: not root and no password-less sudo; cannot install ${missing[*]}" >&2
    exit 77
  fi
fi
echo "install_slurm: installing ${missing[*]}"
start=$SECONDS
$SUDO apt-get update -qq
# policy-rc.d exit 101 keeps the packages from starting their system services mid-install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e $policy ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null
  $SUDO chmod 755 $policy
  made_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
  >/dev/null || status=$?
[ $made_policy -eq 1 ] && $SUDO rm -f $policy
if [ $status -ne 0 ]; then
  echo "install_slurm: apt-get install failed (status $status)" >&2
  exit 1
fi
echo "install_slurm: done in $((SECONDS - start)) s"
