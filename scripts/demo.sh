#!/usr/bin/env bash
# The main job: build ElastOS, build the notes capsule from C++ with the guest SDK, sign it, start
# the runtime, and run it: the capsule asks for write access to
# localhost://Users/self/Documents/Notes/*, the shell capsule grants it by the demo policy, the
# note is written and read back through the sandboxed localhost provider — and every step is in
# the audit log, which is verified at the end. Along the way: a tampered copy and a stranger's
# capsule are refused, and a hostile capsule is stopped by its limits.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build.sh
elastos="$root/build/bin/elastos"

work="$root/build/demo"
rm -rf "$work"
mkdir -p "$work"
export ELASTOS_DATA_DIR="$work/data"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Build the notes capsule (capsules/examples/notes, C++ with the guest SDK) to WebAssembly"
mkdir -p "$work/notes"
cp capsules/examples/notes/capsule.json capsules/examples/notes/main.cpp "$work/notes/"
"$elastos" capsule build "$work/notes"
rm "$work/notes/main.cpp"  # the capsule ships its module, not its source
ls -l "$work/notes"

step "Create a publisher key, trust it, and sign the capsule (its identity is the CID of its directory)"
did=$("$elastos" keys generate --out "$work/publisher")
mkdir -p "$ELASTOS_DATA_DIR"
echo "$did root" > "$ELASTOS_DATA_DIR/trust"
"$elastos" capsule pack "$work/notes" --key "$work/publisher/private.key" --out "$work/notes.capsule"
"$elastos" capsule verify "$work/notes.capsule"

step "A tampered copy and a stranger's capsule are refused"
cp "$work/notes.capsule" "$work/tampered.capsule"
size=$(stat -c %s "$work/tampered.capsule")
printf '\x00' | dd of="$work/tampered.capsule" bs=1 seek=$((size - 200)) conv=notrunc status=none
if "$elastos" capsule verify "$work/tampered.capsule"; then
  echo "demo: tampered capsule was accepted" >&2; exit 1
fi
"$elastos" keys generate --out "$work/stranger" >/dev/null
"$elastos" capsule pack "$work/notes" --key "$work/stranger/private.key" --out "$work/stranger.capsule" >/dev/null
if "$elastos" capsule verify "$work/stranger.capsule"; then
  echo "demo: untrusted capsule was accepted" >&2; exit 1
fi

step "A hostile capsule (an endless loop) is stopped by its CPU limit: exit code 124"
set +e
"$elastos" capsule run build/capsules/spin --allow-unsigned --cpu-ms 500 --wall-ms 1500
code=$?
set -e
echo "exit code $code"
[[ $code -eq 124 ]] || { echo "demo: the endless loop was not stopped by its limit" >&2; exit 1; }

step "The policy the shell capsule enforces: notes may read and write the Notes folder; anything else is asked"
cat > "$ELASTOS_DATA_DIR/policy.json" <<'POLICY'
{
  "default": "ask",
  "rules": [
    {"capsule": "notes", "resource": "localhost://Users/self/Documents/Notes/*",
     "actions": ["read", "write"], "decision": "allow", "duration": "session"}
  ]
}
POLICY
cat "$ELASTOS_DATA_DIR/policy.json"

step "Start the runtime (kernel, HTTP API on loopback, the shell and the localhost provider, sandboxed)"
"$elastos" serve --listen 127.0.0.1:0 > "$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill -TERM $serve_pid 2>/dev/null || true; wait $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 1200); do [[ -f "$ELASTOS_DATA_DIR/runtime.json" ]] && break; sleep 0.1; done
[[ -f "$ELASTOS_DATA_DIR/runtime.json" ]] || { cat "$work/serve.log"; echo "demo: the runtime did not start" >&2; exit 1; }
cat "$work/serve.log"

step "Run the signed notes capsule: it asks for a token, the shell grants it by policy, it writes a note"
"$elastos" run "$work/notes.capsule" -- add "Buy milk" </dev/null

step "Run it again: a new instance, a new token, and the note read back through the localhost provider"
"$elastos" run notes -- show </dev/null
echo "(on the host the note is in $ELASTOS_DATA_DIR/roots/Users/self/Documents/Notes/journal/notes.txt)"

step "Stop the runtime (SIGTERM: capsules stop, sessions end, their tokens are revoked, the log is sealed)"
kill -TERM $serve_pid
wait $serve_pid || true
trap - EXIT

step "Every step above is in the tamper-evident audit log"
"$elastos" audit tail -n 40
"$elastos" audit verify

step "Done"
echo "The signed capsule is $work/notes.capsule; the runtime's state is in $ELASTOS_DATA_DIR."
