#!/usr/bin/env bash
# Import throughput of `elastos cid` on a 1 GiB file, as a ratio against `openssl dgst -sha256`
# on the same file in the same run (SHA-256 is the only unavoidable work), plus peak memory.
# Target: ratio ≥ 0.8, peak RSS < 64 MiB.
# Usage: bench/cid.sh [SIZE_MIB]   (default 1024; needs a built tree: scripts/build.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
elastos="$root/build/bin/elastos"
[[ -x $elastos ]] || { echo "bench: build first (scripts/build.sh)" >&2; exit 1; }
size_mib="${1:-1024}"
tmp=$(mktemp -d /tmp/elastos-bench-cid.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
file="$tmp/input"
echo "generating ${size_mib} MiB of random data…" >&2
openssl rand -out "$file" $((size_mib * 1024 * 1024))
cat "$file" >/dev/null  # warm the page cache so both sides read from memory

best() {  # best-of-3 wall seconds of a command; also records the peak RSS (KiB) of the last run
  local best_t=999999 t
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr"
    read -r t rss <"$tmp/time"
    best_t=$(awk -v a="$t" -v b="$best_t" 'BEGIN{print (a<b)?a:b}')
  done
  echo "$best_t $rss"
}

read -r t_ssl rss_ssl < <(best openssl dgst -sha256 "$file")
printf '%-32s %7.2f s  %7.0f MiB/s  peak RSS %6d KiB\n' "openssl dgst -sha256" "$t_ssl" \
  "$(awk -v s="$size_mib" -v t="$t_ssl" 'BEGIN{print s/t}')" "$rss_ssl"
for profile in unixfs-v1-2025 unixfs-v0-2015; do
  read -r t rss < <(best "$elastos" cid --profile "$profile" "$file")
  printf '%-32s %7.2f s  %7.0f MiB/s  peak RSS %6d KiB  ratio %.2fx openssl\n' "elastos cid ($profile)" "$t" \
    "$(awk -v s="$size_mib" -v t="$t" 'BEGIN{print s/t}')" "$rss" "$(awk -v a="$t_ssl" -v b="$t" 'BEGIN{print a/b}')"
done
