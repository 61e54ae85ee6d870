#!/usr/bin/env bash
# localhost:// read load benchmark. Prints, in one run, token-checked reads of one file through
# `elastos serve` (GET /api/localhost/Public/bench/<file> with a session and a capability token:
# session lookup, the 12 token checks, a round trip to a sandboxed WASM localhost-provider
# instance, base64 both ways) against nginx serving the very same file (a hard link to the same
# inode) from loopback, both driven by the identical wrk command:
#
#   wrk -t T -c C -d Ds --latency -s <headers.lua> http://127.0.0.1:PORT/api/localhost/Public/bench/<file>
#
# (the Lua script sets `Authorization: Bearer <session>` and `X-Capability-Token: <token>`; nginx
# gets the same headers and ignores them, and serves the file under the same path).
# Output: req/s, p50 and p99 latency of each, and elastos/nginx req/s (target >= 0.5x, printed as
# PASS/BELOW; a measurement, so either way exits 0). Also, because the machine may be shared: the
# server's CPU time per request (the daemon with its provider and shell workers; nginx's master and
# workers), and how the machine's CPU split between server, wrk and everything else during each
# run — a run where "everything else" is large was competing with other work.
#
# Exits 1 if the daemon answered any request of the measured run with a non-2xx/3xx status (wrk's
# "Non-2xx or 3xx responses" line) or with a socket error other than a timeout, if the check read
# does not return the exact bytes, or if the daemon died during the run.
#
# Usage: bench/localhost_load.sh [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-s SIZE] [-w WARMUP_S]
#   -d  measured duration per server, seconds (default 10)
#   -c  wrk connections (default 16)
#   -t  wrk threads (default 2)
#   -s  file size in bytes, or with a k/K or m/M suffix (default 4k; at most 512k, the API's
#       largest single read response)
#   -w  unmeasured warm-up run per server before the measured one, seconds (default 2; 0: none)
# Environment: BUILD_DIR (default ./build), KEEP_WORK=1 keeps the temporary directory (logs,
# wrk outputs) and prints where it is.
#
# Needs: wrk, nginx, curl, jq (scripts/setup.sh installs wrk and nginx). Runs its own nginx as an
# unprivileged foreground process (as `nobody` when started as root) with its own config, logs,
# pid and temp paths in the temporary directory, on a free loopback port: a system nginx, if any,
# is neither used nor touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

duration=10 conns=16 threads=2 size_arg=4k warmup=2
usage() { sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts 'd:c:t:s:w:h' opt; do
  case $opt in
    d) duration=$OPTARG ;;
    c) conns=$OPTARG ;;
    t) threads=$OPTARG ;;
    s) size_arg=$OPTARG ;;
    w) warmup=$OPTARG ;;
    *) usage ;;
  esac
done
for v in "$duration" "$conns" "$threads" "$warmup"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "localhost_load: not a number: $v" >&2; usage; }
done
case $size_arg in
  *[kK]) size=$((${size_arg%[kK]} * 1024)) ;;
  *[mM]) size=$((${size_arg%[mM]} * 1024 * 1024)) ;;
  *) size=$size_arg ;;
esac
[[ $size =~ ^[0-9]+$ && $size -ge 1 && $size -le $((512 * 1024)) ]] ||
  { echo "localhost_load: size must be 1 byte … 512k" >&2; exit 2; }
((duration >= 1 && conns >= 1 && threads >= 1 && threads <= conns)) ||
  { echo "localhost_load: need -d >= 1, -c >= 1, 1 <= -t <= -c" >&2; exit 2; }

for tool in wrk nginx curl jq cmp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "localhost_load: needs $tool (scripts/setup.sh)" >&2; exit 1; }
done
nginx_bin=$(command -v nginx)

if ! build_log=$(cmake --build "$build" --target elastos elastos-worker capsule_shell \
                   capsule_localhost-provider 2>&1); then
  tail -40 <<<"$build_log" >&2
  echo "localhost_load: the build failed" >&2
  exit 1
fi

work=$(mktemp -d /tmp/elastos-load.XXXXXX)
data=$work/data
ngx=$work/nginx
daemon_pid="" nginx_pid="" wrk_pid=""

# Ends what this script started, by pid: SIGTERM, then SIGKILL after GRACE seconds (default 15).
stop_pid() {
  local pid=$1 grace=${2:-15} i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "localhost_load: pid $pid ignored SIGTERM for $grace s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $wrk_pid ]]; then  # wrk, or /usr/bin/time and the wrk under it
    for p in $(pgrep -P "$wrk_pid"); do stop_pid "$p"; done
    stop_pid "$wrk_pid"
  fi
  stop_pid "$nginx_pid"
  # The daemon acts on SIGTERM only once start-up is over, which on a fresh data dir includes
  # compiling the shell and the provider (~20 s): give it that long, so no compiler is orphaned.
  stop_pid "$daemon_pid" 60
  if [[ ${KEEP_WORK:-0} == 1 ]]; then
    echo "localhost_load: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
die() { echo "localhost_load: $*" >&2; KEEP_WORK=1; exit 1; }  # keeps the logs

# --- the daemon ------------------------------------------------------------------------------
mkdir -p "$data"
cat >"$data/policy.json" <<'EOF'
{"default": "deny",
 "rules": [{"capsule": "bench", "resource": "localhost://Public/*", "actions": ["read"],
            "decision": "allow"}]}
EOF
echo "starting elastos serve (the first boot of a fresh data dir compiles the shell and the" \
     "localhost provider to native code: ~20 s)..." >&2
"$build/bin/elastos" --data-dir "$data" serve --listen 127.0.0.1:0 >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 1800; i++)); do
  [[ -s $data/runtime.json ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || { tail -20 "$work/daemon.log" >&2; die "the daemon exited during start-up"; }
  sleep 0.1
done
[[ -s $data/runtime.json ]] || die "no runtime.json after 180 s (see $work/daemon.log)"
api=$(jq -r .api_url "$data/runtime.json")
secret=$(jq -r .attach_secret "$data/runtime.json")

# The file, written through the host (the provider's roots are DATA_DIR/roots/<Root>/…).
rel=Public/bench/file-$size.bin
mkdir -p "$data/roots/Public/bench"
head -c "$size" /dev/urandom >"$data/roots/$rel"
chmod 0644 "$data/roots/$rel"

# Attach as "bench", ask for read on localhost://Public/*, wait for the shell's decision.
post() { curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' "$@"; }
session=$(post "$api/api/auth/attach" -d "{\"secret\":\"$secret\",\"owner\":\"bench\"}" | jq -r .token)
[[ -n $session && $session != null ]] || die "attach failed"
auth=(-H "Authorization: Bearer $session")
request_id=$(post "${auth[@]}" "$api/api/capability/request" \
  -d '{"resource":"localhost://Public/*","action":"read","reason":"bench/localhost_load.sh"}' | jq -r .request_id)
decision=$(curl -sS "${auth[@]}" "$api/api/capability/request/$request_id?wait_ms=20000")
[[ $(jq -r .status <<<"$decision") == granted ]] || die "capability not granted: $decision"
token=$(jq -r .token <<<"$decision")

path=/api/localhost/$rel
url=$api$path
code=$(curl -sS -o "$work/check.bin" -w '%{http_code}' "${auth[@]}" -H "X-Capability-Token: $token" "$url")
[[ $code == 200 ]] || die "check read answered HTTP $code: $(head -c 300 "$work/check.bin")"
cmp -s "$work/check.bin" "$data/roots/$rel" || die "check read returned $(stat -c %s "$work/check.bin") bytes that differ from the file's $size"

# --- nginx -----------------------------------------------------------------------------------
# The same inode under the same URL path; its own everything, in $ngx.
mkdir -p "$ngx/html$(dirname "$path")" "$ngx/tmp" "$ngx/logs"
ln "$data/roots/$rel" "$ngx/html$path" 2>/dev/null || cp "$data/roots/$rel" "$ngx/html$path"
run_nginx=("$nginx_bin")
if [[ $(id -u) -eq 0 ]]; then
  # Unprivileged: the whole master runs as nobody (no `user` switch, no root master).
  chmod 0711 "$work"
  chown -R nobody:nogroup "$ngx"
  run_nginx=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all -- "$nginx_bin")
fi
start_nginx() {  # port → 0 when it listens
  local port=$1 i
  cat >"$ngx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/client_body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port;
    root $ngx/html;
  }
}
EOF
  [[ $(id -u) -ne 0 ]] || chown nobody:nogroup "$ngx/nginx.conf"
  "${run_nginx[@]}" -p "$ngx" -e "$ngx/logs/error.log" -c "$ngx/nginx.conf" >"$ngx/logs/stdout.log" 2>&1 &
  nginx_pid=$!
  for ((i = 0; i < 100; i++)); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port$path"; then return 0; fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_pid "$nginx_pid"
  nginx_pid=""
  return 1
}
nginx_port=""
for ((attempt = 0; attempt < 10; attempt++)); do
  port=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && start_nginx "$port"; then
    nginx_port=$port
    break
  fi
done
[[ -n $nginx_port ]] || { cat "$ngx/logs/error.log" >&2 || true; die "nginx did not start"; }
nginx_url=http://127.0.0.1:$nginx_port$path
curl -sS -o "$work/check-nginx.bin" "$nginx_url"
cmp -s "$work/check-nginx.bin" "$data/roots/$rel" || die "nginx does not serve the same bytes"

# --- wrk -------------------------------------------------------------------------------------
# Both headers on every request; at the end, exact percentiles (µs) and the status-error count
# for the parser below (wrk's own report is kept as is above them).
cat >"$work/headers.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $session"
wrk.headers["X-Capability-Token"] = "$token"
done = function(summary, latency, requests)
  io.write(string.format("BENCH p50_us %d\n", latency:percentile(50)))
  io.write(string.format("BENCH p99_us %d\n", latency:percentile(99)))
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH status_errors %d\n", summary.errors.status))
end
EOF
wrk_cmd=(wrk -t "$threads" -c "$conns" -d "${duration}s" --latency -s "$work/headers.lua")
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# CPU accounting, to read the numbers on a shared machine: clock ticks used by a server (the
# process and all its live descendants: the daemon with its provider and shell workers; the nginx
# master with its workers), by wrk (through /usr/bin/time when present), and by the whole machine
# (/proc/stat, busy = all but idle and iowait).
tree_pids() { local p; echo "$1"; for p in $(pgrep -P "$1"); do tree_pids "$p"; done; }
tree_ticks() {
  local t=0 p
  for p in $(tree_pids "$1"); do
    t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
timer=()
if [[ -x /usr/bin/time ]]; then timer=(/usr/bin/time -f '%U %S'); fi

# run NAME URL SERVER_PID → $work/NAME.wrk, $work/NAME.cpu
#   ("server_ticks wrk_cpu_s machine_busy_ticks wall_s", over the measured run)
run() {
  local name=$1 target=$2 spid=$3 s0 m0 t0 s1 m1 t1
  if ((warmup > 0)); then
    wrk -t "$threads" -c "$conns" -d "${warmup}s" -s "$work/headers.lua" "$target" >"$work/$name.warmup" 2>&1
  fi
  echo "running: ${wrk_cmd[*]} $target" >&2
  s0=$(tree_ticks "$spid") m0=$(busy_ticks) t0=$(date +%s.%N)
  rm -f "$work/$name.time"
  # In the background and waited for, so that a signal to this script is handled at once.
  "${timer[@]}" ${timer[0]:+-o "$work/$name.time"} "${wrk_cmd[@]}" "$target" >"$work/$name.wrk" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || { wrk_pid=""; cat "$work/$name.wrk" >&2; die "wrk failed against $name"; }
  wrk_pid=""
  s1=$(tree_ticks "$spid") m1=$(busy_ticks) t1=$(date +%s.%N)
  echo "$((s1 - s0)) $(awk '{ print $1 + $2 }' "$work/$name.time" 2>/dev/null || echo -) $((m1 - m0))" \
       "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >"$work/$name.cpu"
}
field() { sed -n "s/^BENCH $2 //p" "$work/$1.wrk"; }
reqs() { sed -n 's/^Requests\/sec: *//p' "$work/$1.wrk"; }

clk=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
fds_before=$(fds "$daemon_pid")
run elastos "$url" "$daemon_pid"
kill -0 "$daemon_pid" 2>/dev/null || die "the daemon died during the run (see $work/daemon.log)"
fds_after=$(fds "$daemon_pid")
# The daemon must have answered everything with 2xx: wrk prints this line only when it did not.
non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$work/elastos.wrk")
sockerr=$(sed -n 's/^ *Socket errors: *//p' "$work/elastos.wrk")
run nginx "$nginx_url" "$nginx_pid"

# --- report ----------------------------------------------------------------------------------
e_rps=$(reqs elastos) n_rps=$(reqs nginx)
[[ -n $e_rps && -n $n_rps ]] || { cat "$work/elastos.wrk" "$work/nginx.wrk" >&2; die "could not parse wrk's output"; }
echo "== localhost:// token-checked reads vs nginx, $size-byte file, $(nproc) CPU(s), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "   command: ${wrk_cmd[*]} <url>   (warm-up ${warmup}s each, not measured)"
echo "   elastos: GET $path with Authorization + X-Capability-Token (daemon defaults: 16 handler threads, 2 provider instances)"
echo "   nginx:   the same file (same inode) and path, worker_processes auto, sendfile on, access_log off"
printf '   %-10s %12s %10s %10s %12s %16s\n' server 'req/s' 'p50 ms' 'p99 ms' requests 'server CPU/req'
for s in elastos nginx; do
  awk -v s="$s" -v r="$(reqs "$s")" -v p50="$(field "$s" p50_us)" -v p99="$(field "$s" p99_us)" \
      -v n="$(field "$s" requests)" -v st="$(cut -d' ' -f1 "$work/$s.cpu")" -v hz="$clk" \
      'BEGIN { printf "   %-10s %12.0f %10.3f %10.3f %12d %13.0f us\n", s, r, p50 / 1000, p99 / 1000, n, st / hz * 1e6 / n }'
done
awk -v e="$e_rps" -v n="$n_rps" 'BEGIN {
  r = e / n
  printf "   ratio elastos/nginx req/s: %.3fx  %s (target >= 0.5x)\n", r, (r >= 0.5 ? "PASS" : "BELOW") }'
for s in elastos nginx; do
  read -r st wt mt wall <"$work/$s.cpu"
  awk -v s="$s" -v st="$st" -v wt="$wt" -v mt="$mt" -v hz="$clk" -v d="$wall" -v ncpu="$(nproc)" 'BEGIN {
    server = st / hz / d * 100; machine = mt / hz / d * 100; w = (wt == "-") ? 0 : wt / d * 100
    # (tick-granular counters: "everything else" can come out a little below 0 on a quiet machine)
    rest = machine - server - w; if (rest < 0.5) rest = 0
    if (wt == "-") {
      printf "   CPU during the %s run (%d CPUs = %d%%): server %.0f%%, wrk + everything else %.0f%%\n", s, ncpu, ncpu * 100, server, rest
    } else {
      printf "   CPU during the %s run (%d CPUs = %d%%): server %.0f%%, wrk %.0f%%, everything else %.0f%%\n", s, ncpu, ncpu * 100, server, w, rest
    } }'
done
echo "   load average before the runs: $load_before"
echo "   daemon open fds: $fds_before before the run, $fds_after after"
[[ -z $sockerr ]] || echo "   elastos socket errors: $sockerr"
nsock=$(sed -n 's/^ *Socket errors: *//p' "$work/nginx.wrk")
[[ -z $nsock ]] || echo "   nginx socket errors: $nsock"

status=0
if [[ -n $non2xx ]]; then
  echo "FAIL: the daemon answered $non2xx requests with a non-2xx/3xx status" >&2
  status=1
fi
if [[ -n $sockerr ]] && awk -v s="$sockerr" 'BEGIN {
    split(s, f, /[ ,]+/); for (i = 1; i < length(f); i += 2) if (f[i] != "timeout" && f[i+1] > 0) exit 0; exit 1 }'; then
  echo "FAIL: socket errors against the daemon: $sockerr" >&2
  status=1
fi
if ((status)); then
  KEEP_WORK=1
  exit 1
fi
exit 0
