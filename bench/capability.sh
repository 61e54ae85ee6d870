#!/usr/bin/env bash
# The capability kernel's numbers in one run: token validation (cached p50/p99 without and with
# the audit append, cold vs a raw libsodium verify), grants/s, and durable audit appends/s from
# 64 concurrent appenders next to a one-fdatasync-per-record baseline.
# Targets: cached ≤ 1 µs p99; cold ≤ 1.2× raw verify; audit ≥ 50,000/s and ≥ 10× the baseline.
# Usage: bench/capability.sh   (needs a built tree: scripts/build.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/bin"
[[ -x $bin/capability_bench && -x $bin/audit_bench ]] || { echo "bench: build first (scripts/build.sh)" >&2; exit 1; }
echo "== token validation and grants"
"$bin/capability_bench"
echo
echo "== durable audit appends (group commit)"
"$bin/audit_bench" --benchmark_filter='DurableAppend|RawAppendSync|AppendAsync' --benchmark_color=false 2>/dev/null |
  sed 's/\x1b\[[0-9;]*m//g' | grep -E '^BM_|group commit'
