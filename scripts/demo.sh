#!/usr/bin/env bash
# The main job: build ElastOS, then take a capsule through its whole life: build it from C++ with
# the guest SDK → publisher key → pack (sign) → verify → inspect → run it sandboxed under the
# runtime; show that a tampered copy and an untrusted publisher are refused and that a hostile
# capsule is stopped by its limits.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build.sh
elastos="$root/build/bin/elastos"

work="$root/build/demo"
rm -rf "$work"
mkdir -p "$work/hello"
export ELASTOS_DATA_DIR="$work/data"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Build the sample capsule (capsules/examples/hello-sdk, C++ with the guest SDK) to WebAssembly"
cp capsules/examples/hello-sdk/capsule.json capsules/examples/hello-sdk/main.cpp "$work/hello/"
"$elastos" capsule build "$work/hello"
rm "$work/hello/main.cpp"  # the capsule ships its module, not its source
ls -l "$work/hello"

step "Create a publisher key and trust it"
did=$("$elastos" keys generate --out "$work/publisher")
echo "$did root" > "$work/trust"
cat "$work/trust"

step "Pack and sign: the capsule's identity is the CID of its directory"
"$elastos" capsule pack "$work/hello" --key "$work/publisher/private.key" --out "$work/hello.capsule"
echo "CID of the directory, computed independently: $("$elastos" cid "$work/hello")"

step "Verify against the trust store"
"$elastos" capsule verify "$work/hello.capsule" --trust "$work/trust"

step "Inspect"
"$elastos" capsule inspect "$work/hello.capsule"

step "A tampered copy is refused"
cp "$work/hello.capsule" "$work/tampered.capsule"
size=$(stat -c %s "$work/tampered.capsule")
printf '\x00' | dd of="$work/tampered.capsule" bs=1 seek=$((size - 200)) conv=notrunc status=none
if "$elastos" capsule verify "$work/tampered.capsule" --trust "$work/trust"; then
  echo "demo: tampered capsule was accepted" >&2; exit 1
fi

step "A capsule from a publisher not in the trust store is refused"
"$elastos" keys generate --out "$work/stranger" >/dev/null
"$elastos" capsule pack "$work/hello" --key "$work/stranger/private.key" --out "$work/stranger.capsule" >/dev/null
if "$elastos" capsule verify "$work/stranger.capsule" --trust "$work/trust"; then
  echo "demo: untrusted capsule was accepted" >&2; exit 1
fi

step "Run it: verified, then sandboxed in a worker process (first run interprets and compiles in the background)"
echo "a line on stdin" | "$elastos" capsule run "$work/hello.capsule" --trust "$work/trust" -- one two

step "Run it again on native code (compiled ahead of time, cached by module hash)"
"$elastos" capsule compile "$work/hello.capsule" --trust "$work/trust"
echo "another line" | "$elastos" capsule run "$work/hello.capsule" --trust "$work/trust" --tier aot -- three

step "A hostile capsule (an endless loop) is stopped by its CPU limit: exit code 124"
set +e
"$elastos" capsule run build/capsules/spin --allow-unsigned --cpu-ms 500 --wall-ms 1500
code=$?
set -e
echo "exit code $code"
[[ $code -eq 124 ]] || { echo "demo: the endless loop was not stopped by its limit" >&2; exit 1; }

step "Everything above is in the tamper-evident audit log"
"$elastos" audit tail -n 6
"$elastos" audit verify

step "Done"
echo "The signed capsule is $work/hello.capsule; the runtime's state is in $work/data."
