#!/usr/bin/env bash
# Builds everything and runs the default test suite (unit, CLI and external-client conformance
# tests). Long suites (fuzzing, soak, full benchmarks) have their own scripts under bench/ and tests/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
