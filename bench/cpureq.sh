#!/usr/bin/env bash
# bench/cpureq.sh BIN ISOLATION [CONNS]: CPU time per request of `picloud serve`
# and of its worker (from /proc/PID/stat), under 6 s of load on the seeded
# Hello World route. Unlike req/s it barely moves with what else the
# machine runs, so it compares builds on a shared machine.
set -euo pipefail
bin=$1 iso=$2 conns=${3:-64}
tmp=$(mktemp -d)
lg=$tmp/loadgen
(cd "$(dirname "${BASH_SOURCE[0]}")/.." && go build -o "$lg" ./bench/cmd/loadgen)
port=$($lg -freeport)
printf 'executor {\n  isolation = "%s"\n}\n' "$iso" >"$tmp/c.hcl"
PICLOUD_DATA_DIR="$tmp/data" PICLOUD_LISTEN="127.0.0.1:$port" "$bin" serve --config "$tmp/c.hcl" >"$tmp/log" 2>&1 &
srv=$!
$lg -url "http://127.0.0.1:$port/healthz" -wait 10s >/dev/null
$lg -url "http://127.0.0.1:$port/" -wait 10s >/dev/null
$lg -url "http://127.0.0.1:$port/" -c $conns -d 2s -warmup 0s -json >/dev/null
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
# sysw PID: write system calls so far (/proc/PID/io syscw).
sysw() { awk '/^syscw/ {print $2}' /proc/$1/io; }
# switches PID...: context switches (voluntary and not) of every thread:
# each goroutine hand-off that wakes a sleeping thread costs one or two.
switches() { cat /proc/$1/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n+0}'; }
wk=$(pgrep -P $srv || true)
s0=$(ticks $srv); w0=0; [[ -n $wk ]] && w0=$(ticks $wk)
sc0=$(switches $srv); wc0=0; [[ -n $wk ]] && wc0=$(switches $wk)
sw0=$(sysw $srv); ww0=0; [[ -n $wk ]] && ww0=$(sysw $wk)
$lg -url "http://127.0.0.1:$port/" -c $conns -d 6s -warmup 0s -json >"$tmp/load.json"
s1=$(ticks $srv); w1=0; [[ -n $wk ]] && w1=$(ticks $wk)
sc1=$(switches $srv); wc1=0; [[ -n $wk ]] && wc1=$(switches $wk)
sw1=$(sysw $srv); ww1=0; [[ -n $wk ]] && ww1=$(sysw $wk)
req=$(sed -E 's/.*"requests":([0-9]+).*/\1/' "$tmp/load.json")
hz=$(getconf CLK_TCK)
awk -v s=$((s1-s0)) -v w=$((w1-w0)) -v r=$req -v hz=$hz -v sc=$((sc1-sc0)) -v wc=$((wc1-wc0)) -v sw=$((sw1-sw0)) -v ww=$((ww1-ww0)) 'BEGIN{printf "server %.1f us/req  worker %.1f us/req  total %.1f us/req  context switches/req server %.2f worker %.2f  writes/req server %.2f worker %.2f  (%d req)\n", s*1e6/hz/r, w*1e6/hz/r, (s+w)*1e6/hz/r, sc/r, wc/r, sw/r, ww/r, r}'
kill $srv; wait $srv 2>/dev/null || true
rm -rf "$tmp"
