#!/usr/bin/env bash
# WASM substrate benchmark (issue: WASM substrate). Prints, in one run, against native gcc -O2 of
# the same C source (capsules/examples/bench/bench.c):
#   - fib / SHA-256 / sort on compiled code (AOT) without and with the interrupt checks that ship
#     by default, on the WABT interpreter (small sizes), and on Node's node:wasi;
#   - cold start of a cached capsule: worker exec → the guest's first output;
#   - the whole `elastos capsule run` of a signed capsule vs exec of a native hello world.
# Work times are measured inside the program (clock_gettime, WASI clock_time_get under wasm), so
# they leave out process start; start-up is measured separately in the cold-start section.
#
# Usage: bench/wasm.sh [RUNS]      (median of RUNS runs per cell, default 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
runs=${1:-3}
cmake --build "$build" --target elastos elastos-worker exec_timer capsule_bench capsule_exit42 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/data
elastos() { "$build/bin/elastos" --data-dir "$data" "$@"; }
worker=$build/bin/elastos-worker
module=$build/capsules/bench/bench.wasm

gcc -O2 "$root/capsules/examples/bench/bench.c" -o "$work/bench-native"
printf '#include <stdio.h>\nint main(void){puts("exiting with 42");return 42;}\n' > "$work/hello.c"
gcc -O2 "$work/hello.c" -o "$work/hello-native"

echo "compiling bench.wasm to native code (both instrumentation modes)..." >&2
aot_int=$(elastos capsule compile "$module" 2>/dev/null | sed -n "s/^object //p")
aot_none=$(elastos capsule compile --instrumentation none "$module" 2>/dev/null | sed -n 's/^object //p')

# elapsed_ms of one run of CMD (bench prints it on stderr); median of $runs.
median_ms() {
  local samples=()
  for ((i = 0; i < runs; i++)); do
    samples+=("$("$@" 2>&1 >/dev/null | sed -n 's/^elapsed_ms: //p')")
  done
  printf '%s\n' "${samples[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

node_runner=$root/tests/capsules/wasi_run.mjs
row() {  # workload, size, size for the interpreter
  local what=$1 n=$2 small=$3
  local native aot_n aot_i node native_s interp
  native=$(median_ms "$work/bench-native" "$what" "$n")
  aot_n=$(median_ms "$worker" --module "$module" --aot "$aot_none" -- bench "$what" "$n")
  aot_i=$(median_ms "$worker" --module "$module" --aot "$aot_int" -- bench "$what" "$n")
  node=$(median_ms node --no-warnings "$node_runner" --no-carrier "$module" "$what" "$n")
  native_s=$(median_ms "$work/bench-native" "$what" "$small")
  interp=$(median_ms "$worker" --module "$module" -- bench "$what" "$small")
  printf '%-8s %-9s native %9.1f ms | aot %s | aot+interrupt %s | node:wasi %s | interp (%s) %s\n' \
    "$what" "$n" "$native" "$(ratio "$aot_n" "$native")" "$(ratio "$aot_i" "$native")" \
    "$(ratio "$node" "$native")" "$small" "$(ratio "$interp" "$native_s")"
}

echo "== compute: ratio = time / native gcc -O2 (median of $runs; lower is better)"
row fib 38 27
row sha256 64 1
row sort 5000000 100000

echo "== cold start"
exit42=$build/capsules/exit42/exit42.wasm
obj42=$(elastos capsule compile "$exit42" 2>/dev/null | sed -n 's/^object //p')
echo "worker exec -> first guest output, cached AOT object: $("$build/bin/exec_timer" --first-output 200 -- "$worker" --module "$exit42" --aot "$obj42" -- exit42)"
echo "worker exec -> first guest output, interpreter:       $("$build/bin/exec_timer" --first-output 200 -- "$worker" --module "$exit42" -- exit42)"

elastos keys generate --out "$work/pub" >/dev/null
echo "$(cat "$work/pub/public.did") root" > "$work/trust"
elastos capsule pack "$build/capsules/exit42" --key "$work/pub/private.key" --out "$work/exit42.capsule" >/dev/null
elastos capsule run "$work/exit42.capsule" --trust "$work/trust" --tier aot >/dev/null 2>&1 || true
native_exec=$("$build/bin/exec_timer" 100 -- "$work/hello-native")
full_run=$("$build/bin/exec_timer" 100 -- "$build/bin/elastos" --data-dir "$data" capsule run "$work/exit42.capsule" --trust "$work/trust")
n_med=$(echo "$native_exec" | awk '{print $2}')
r_med=$(echo "$full_run" | awk '{print $2}')
echo "native hello exec -> exit:                            $native_exec"
echo "elastos capsule run (signed, verified, AOT) -> exit:  $full_run  ($(ratio "$r_med" "$n_med") native)"
