#!/usr/bin/env bash
# Prefill and decode speed of chorus on each real model in .models/ (every
# activation mode: f32, int16, int8; decode GB/s beside the streaming read measured in the same
# run), optionally beside llama.cpp's llama-bench on the same file and threads.
#   bench/real_models.sh [--threads N] [--llama-bench PATH] [--out FILE.json]
# Writes one JSON object: {"threads", "runs": [{model, chorus_f32, chorus_int16, chorus_int8, llama_bench}]}.
# llama-bench runs with its own defaults: libgomp's spin, which it needs (its decode is 1.1-2.3x faster than with GOMP_SPINCOUNT=100, docs/kernels.md).
# Heavy: run it on a quiet machine, outside the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 llama_bench="" out=docs/bench/real_models.json
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --llama-bench) llama_bench=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "real_models.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
chorus=./build/chorus
[ -x "$chorus" ] || { echo "real_models.sh: build chorus first (scripts/setup.sh)" >&2; exit 1; }
runs=()
for f in SmolLM2-135M-Instruct.Q4_1.gguf qwen2.5-coder-0.5b-instruct-q4_k_m.gguf gemma-3-270m-q4_k_m.gguf \
         qwen2.5-coder-1.5b-instruct-q4_k_m.gguf; do
  m=.models/$f
  [ -f "$m" ] || { echo "skip $f (absent)" >&2; continue; }
  echo "bench $f" >&2
  f32=$($chorus bench --model "$m" --threads "$threads" --prompt-tokens 128 --gen-tokens 64 --activations f32 --json)
  int16=$($chorus bench --model "$m" --threads "$threads" --prompt-tokens 128 --gen-tokens 64 --activations int16 --json)
  int8=$($chorus bench --model "$m" --threads "$threads" --prompt-tokens 128 --gen-tokens 64 --activations int8 --json)
  peer=null
  if [ -n "$llama_bench" ]; then
    # A file the peer cannot load (an architecture it predates) leaves null.
    peer=$("$llama_bench" -m "$m" -t "$threads" -p 128 -n 64 -r 3 -o json 2>/dev/null) || peer=null
    [ -n "$peer" ] || peer=null
  fi
  runs+=("{\"model\": \"$f\", \"chorus_f32\": $f32, \"chorus_int16\": $int16, \"chorus_int8\": $int8, \"llama_bench\": $peer}")
done
mkdir -p "$(dirname "$out")"
(IFS=,; echo "{\"threads\": $threads, \"date\": \"$(date -u +%FT%TZ)\", \"runs\": [${runs[*]}]}") | python3 -m json.tool > "$out"
echo "wrote $out" >&2
