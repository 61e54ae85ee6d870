#!/usr/bin/env bash
# Installs the Debian packages the project needs (idempotent) and builds everything into build/.
# Usage: scripts/build.sh [extra cmake args…]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
ninja -C build
