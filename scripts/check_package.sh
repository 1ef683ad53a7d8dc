#!/usr/bin/env bash
# Installs chorus from a build folder into a temporary prefix and builds and
# runs the examples against the installed package as separate projects: the C
# one through find_package(chorus), the C++ one through pkg-config. Checks that
# libchorus.so has a versioned SONAME and exports only the public API.
#   scripts/check_package.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

# The static archives too (an option; it changes no object file, only what is installed).
cmake -S . -B "$build" -DCHORUS_INSTALL_STATIC=ON > "$work/configure.log"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
lib=$(find "$prefix" -name 'libchorus.so.*.*' | head -1)
[ -n "$lib" ] || { echo "package: no libchorus.so.X.Y installed" >&2; exit 1; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
echo "package: $lib, SONAME $soname"
[[ "$soname" == libchorus.so.* ]] || { echo "package: no versioned SONAME" >&2; exit 1; }
# Exported: the C API (chorus_*) and the C++ API (namespace chorus); nothing else.
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^chorus_' | c++filt |
      grep -vE '^(chorus::|typeinfo for chorus::|typeinfo name for chorus::|vtable for chorus::)' || true)
if [ -n "$bad" ]; then
  echo "package: libchorus.so exports symbols outside the public API:" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
echo "package: $(nm -D --defined-only "$lib" | wc -l) exported symbols, all public"
for f in include/chorus/chorus.h include/chorus/model.h include/chorus/composer.h lib/cmake/chorus/chorusConfig.cmake \
         lib/cmake/chorus/chorusConfigVersion.cmake lib/pkgconfig/chorus.pc bin/chorus share/chorus/default_router.bin \
         share/chorus/configs/default.json; do
  [ -e "$prefix/$f" ] || [ -e "$prefix/${f/lib\//lib/x86_64-linux-gnu/}" ] || { echo "package: $f is not installed" >&2; exit 1; }
done

stories=$PWD/fixtures/models/stories260K
printf '{"experts": [{"name": "tiny", "model": "%s/stories260K.bin", "tokenizer": "%s/tok512.bin",
  "categories": ["stories"], "generation": {"max_tokens": 16, "temperature": 0}}],
  "fallback": "tiny", "on_out_of_domain": "fallback"}' "$stories" "$stories" > "$work/experts.json"

echo "== example (C, find_package)"
cmake -S examples/c -B "$work/c" -DCMAKE_PREFIX_PATH="$prefix" > "$work/c.log"
cmake --build "$work/c" >> "$work/c.log"
router=$prefix/share/chorus/default_router.bin
"$work/c/generate_and_ask" "$stories/stories260K.bin" "$work/experts.json" "$router" | tee "$work/c.out"
grep -q "pieces streamed" "$work/c.out"
grep -q "generate(NULL prompt): invalid_argument: chorus_generate: prompt is NULL" "$work/c.out"
grep -q '^ask: ok' "$work/c.out"

echo "== example (C, find_package, chorus::chorus_static)"
mkdir -p "$work/static-src"
sed 's/chorus::chorus)/chorus::chorus_static)\nset_target_properties(generate_and_ask PROPERTIES LINKER_LANGUAGE CXX)/; s/LANGUAGES C)/LANGUAGES C CXX)/' \
  examples/c/CMakeLists.txt > "$work/static-src/CMakeLists.txt"
cp examples/c/generate_and_ask.c "$work/static-src/"
cmake -S "$work/static-src" -B "$work/static" -DCMAKE_PREFIX_PATH="$prefix" > "$work/static.log"
cmake --build "$work/static" >> "$work/static.log"
! ldd "$work/static/generate_and_ask" | grep -q libchorus || { echo "package: the static example links libchorus.so" >&2; exit 1; }
"$work/static/generate_and_ask" "$stories/stories260K.bin" | grep -q "pieces streamed"

echo "== example (C++, pkg-config)"
pc_dir=$(dirname "$(find "$prefix" -name chorus.pc | head -1)")
PKG_CONFIG_PATH="$pc_dir" cmake -S examples/cpp -B "$work/cpp" > "$work/cpp.log"
cmake --build "$work/cpp" >> "$work/cpp.log"
LD_LIBRARY_PATH="$(dirname "$lib")" "$work/cpp/generate_and_ask_cpp" "$stories/stories260K.bin" "$work/experts.json" "$router" |
  tee "$work/cpp.out"
grep -q "forward passes" "$work/cpp.out"
grep -q "ask (ok" "$work/cpp.out"

echo "== installed program finds its data"
"$prefix/bin/chorus" ask --help > /dev/null
"$prefix/bin/chorus" generate --model "$prefix/share/chorus/fixtures/models/stories260K/stories260K.bin" \
  --temperature 0 -n 8 --prompt "Once" > /dev/null
echo "package: ok"
