#!/usr/bin/env bash
# Writes the synthetic experts of configs/bench/synth_experts.json (three
# llama-110m and one tinyllama-1.1b, q8_0, random weights of real shapes:
# 1.5 GB in all) into .models/synth/, for `chorus bench compose`.
# Usage: scripts/make_synth_experts.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
chorus="${1:-build}/chorus"
out=.models/synth
mkdir -p "$out"
for seed in 1 2 3; do
  f="$out/llama-110m-s$seed.q8_0.gguf"
  [[ -f $f ]] || "$chorus" synth --preset llama-110m --dtype q8_0 --seed "$seed" -o "$f"
done
f="$out/tinyllama-1.1b.q8_0.gguf"
[[ -f $f ]] || "$chorus" synth --preset tinyllama-1.1b --dtype q8_0 -o "$f"
