#!/usr/bin/env bash
# Runs every built libFuzzer target for a bounded time and fails if any of
# them finds a crash. It builds nothing: configure and build first with
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCHORUS_FUZZ=ON && cmake --build build-fuzz
#
# Usage: run_fuzzers.sh SECONDS [BUILD_DIR]     (BUILD_DIR defaults to build-fuzz)
#
# Seeds, made at run time in BUILD_DIR/fuzz-corpus/fuzz_<name>/ (model files
# are never committed):
#  - corpus/fuzz_<name>/ next to this script: small seeds committed with the code;
#  - fuzz_<name>.seeds next to fuzz_<name>.cpp lists files (globs allowed,
#    relative to the repository's fixtures/ folder; a line that matches no
#    file is an error);
#  - BUILD_DIR/fuzz/seed-makers/seed_<name>, if built, writes small files there.
# Inputs are cut to FUZZ_MAX_LEN bytes (64 KiB unless set): in a short pass,
# short inputs mutate faster and reach more of a reader than long ones.
# Crash inputs land in BUILD_DIR/fuzz-artifacts/fuzz_<name>/.
set -euo pipefail

seconds=${1:?usage: run_fuzzers.sh SECONDS [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${2:-$root/build-fuzz}" && pwd)
fixtures=$root/fixtures
max_len=${FUZZ_MAX_LEN:-65536}
# fuzz_experts_config resolves a config's relative model paths here, so that
# configs that pass the parser reach the model and tokenizer checks.
export CHORUS_FUZZ_MODEL_DIR=${CHORUS_FUZZ_MODEL_DIR:-$fixtures/models}

shopt -s nullglob
fuzzers=("$build"/fuzz/fuzz_*)
if [ ${#fuzzers[@]} -eq 0 ]; then
  echo "run_fuzzers: no fuzz targets in $build/fuzz (build with CC=clang CXX=clang++ -DCHORUS_FUZZ=ON)" >&2
  exit 1
fi

# Fills the corpus folder of fuzz_<name> with its seeds.
make_corpus() {
  local name=$1 corpus=$2 list="$here/$1.seeds" maker="$build/fuzz/seed-makers/seed_${1#fuzz_}" pattern seed
  mkdir -p "$corpus"
  if [ -d "$here/corpus/$1" ]; then cp -f "$here/corpus/$1"/* "$corpus/"; fi
  if [ -x "$maker" ]; then "$maker" "$corpus"; fi
  [ -f "$list" ] || return 0
  while read -r pattern; do
    case $pattern in ''|'#'*) continue ;; esac
    local found=0
    for seed in "$fixtures"/$pattern; do
      [ -f "$seed" ] || continue
      # named with its folder too: stories260K/tok512.bin and aidreams260K/tok512.bin are two seeds
      cp -f "$seed" "$corpus/seed-$(basename "$(dirname "$seed")")-$(basename "$seed")"
      found=1
    done
    if [ $found = 0 ]; then echo "run_fuzzers: $list: no file matches $fixtures/$pattern" >&2; exit 1; fi
  done < "$list"
}

failed=()
for fuzzer in "${fuzzers[@]}"; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  corpus="$build/fuzz-corpus/$name"
  artifacts="$build/fuzz-artifacts/$name"
  log="$build/fuzz-artifacts/$name.log"
  make_corpus "$name" "$corpus"
  mkdir -p "$artifacts"
  echo "== $name: ${seconds}s, corpus $(ls "$corpus" | wc -l) files"
  # -timeout: one input taking longer is a hang, and a hang is a bug too.
  if "$fuzzer" -max_total_time="$seconds" -timeout=10 -max_len="$max_len" -print_final_stats=1 \
       -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$log" | sed 's/^/   /' || true
  else
    echo "   FAILED (log: $log)"
    grep -A 30 -E "^==[0-9]+==ERROR|runtime error|deadly signal|uncaught exception|out-of-memory|timeout" "$log" | head -60 || tail -40 "$log"
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzzers: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzzers: ${#fuzzers[@]} target(s), no crash"
