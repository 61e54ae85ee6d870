#!/usr/bin/env bash
# The main job: build ElastOS, then take the sample capsule through its signed life cycle:
# publisher key → pack (sign) → verify against a trust store → inspect → and show that a
# tampered copy and an untrusted publisher are refused.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build.sh
elastos="$root/build/bin/elastos"

work="$root/build/demo"
rm -rf "$work"
mkdir -p "$work/hello"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Build the sample capsule (capsules/examples/hello) to WebAssembly"
cp capsules/examples/hello/capsule.json "$work/hello/"
wat2wasm capsules/examples/hello/hello.wat -o "$work/hello/hello.wasm"
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

step "Done"
echo "The signed capsule is $work/hello.capsule. Running it arrives with the WASM substrate (see README)."
