#!/bin/sh
# Builds bench_guest.c natively (gcc -O2) and for wasm32-wasi (clang-19 + Debian wasi-libc), then
# runs aot_bench on both. Usage: run_aot_bench.sh BUILD_DIR [RUNS]
set -eu
build=${1:?usage: run_aot_bench.sh BUILD_DIR [RUNS]}
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -Wl,--strip-all "$here/bench_guest.c" -o "$out/bench.wasm"
gcc -O2 "$here/bench_guest.c" -o "$out/bench_native"
"$build/bin/aot_bench" "$out/bench.wasm" "$out/bench_native" "$runs"
