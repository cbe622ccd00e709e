#!/usr/bin/env bash
# Installs the Debian packages affine's build, tests and example need (idempotent: only what is
# missing is installed, so a second run makes no network access). Runs apt-get as root or via sudo.
set -euo pipefail

packages=(
  cmake g++ clang make python3 ninja-build
  libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libopenblas-dev libeigen3-dev liblapacke-dev libclang-rt-14-dev
  openmpi-bin libopenmpi-dev
)
if [[ "${AFFINE_SETUP_BROWSER:-0}" == 1 ]]; then
  packages+=(chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
