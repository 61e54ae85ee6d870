#!/usr/bin/env bash
# Installs every Debian package the project needs to build, test and run.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
# Usage: scripts/setup.sh            (build + runtime + test dependencies)
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries of the runtime (DESIGN.md §5). Never libboost-dev: it pulls Boost 1.74,
  # which conflicts with 1.81.
  libssl-dev libsodium-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # WebAssembly substrate (DESIGN.md §4): wasm2c + the WABT interpreter, the worker's seccomp
  # filter, and the guest toolchain that builds C/C++ capsules for wasm32-wasi (§7).
  wabt libseccomp-dev
  clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libc++-19-dev-wasm32 libc++abi-19-dev-wasm32
  # benchmark helpers: time and openssl for bench/cid.sh; wrk (the HTTP load generator), nginx
  # (the baseline file server), curl and jq (attach, token, check read) and time (wrk's CPU) for
  # bench/localhost_load.sh. Installing nginx starts Debian's system nginx on port 80; the bench
  # neither uses nor touches it (it runs its own nginx, with its own config, on its own free
  # loopback port, as a foreground process in a temporary directory).
  time openssl
  wrk nginx curl jq
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: need root to install packages (run as root or via sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present" >&2
fi

# Node.js + npm run the external-client conformance tests. Debian's nodejs is 18 on bookworm; the
# tests bring their own Node 20 from the npm registry when the machine's is older
# (tests/conformance/run.sh). Install Debian's only when there is no node/npm at all, so a newer
# Node from elsewhere is left alone.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm
fi
