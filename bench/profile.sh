#!/usr/bin/env bash
# bench/profile.sh — CPU and allocation profiles of `picloud serve` (and,
# with process isolation, `perf` samples of its worker) under the load
# generator on the seeded Hello World route: the per-hop breakdown of
# docs/benchmarks.md comes from these.
#
# Usage:  bench/profile.sh [process|none] [OUTDIR]
# Knobs:  BENCH_CONNS (default 64), PROFILE_SECONDS (default 10)
# Leaves in OUTDIR (default ./profile-ISOLATION): server.cpu, server.allocs
# (pprof files, `go tool pprof -top OUTDIR/server.cpu`), the pprof binary,
# and worker.perf.txt / worker.cum.txt (perf report of the worker, self and
# cumulative, when perf is installed).
set -euo pipefail

isolation=${1:-process}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${2:-$repo/profile-$isolation}
conns=${BENCH_CONNS:-64}
secs=${PROFILE_SECONDS:-10}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/picloud-profile.XXXXXX")
mkdir -p "$out"
pids=()
cleanup() {
	local pid
	for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
	for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
log() { printf 'profile: %s\n' "$*" >&2; }

cd "$repo"
go build -o "$tmp/loadgen" ./bench/cmd/loadgen
go build -tags pprof -o "$out/picloud" ./cmd/picloud
port=$("$tmp/loadgen" -freeport)
pport=$("$tmp/loadgen" -freeport)
printf 'executor {\n  isolation = "%s"\n}\n' "$isolation" >"$tmp/c.hcl"
PICLOUD_PPROF="127.0.0.1:$pport" PICLOUD_DATA_DIR="$tmp/data" PICLOUD_LISTEN="127.0.0.1:$port" \
	"$out/picloud" serve --config "$tmp/c.hcl" >"$tmp/picloud.log" 2>&1 &
server=$!
pids+=("$server")
"$tmp/loadgen" -url "http://127.0.0.1:$port/healthz" -wait 10s >/dev/null
"$tmp/loadgen" -url "http://127.0.0.1:$port/" -wait 10s >/dev/null
"$tmp/loadgen" -url "http://127.0.0.1:$port/" -c "$conns" -d "$((secs + 4))s" -warmup 2s -json >"$out/load.json" &
pids+=("$!")
sleep 2
log "profiling $isolation for ${secs}s under $conns connections"
curl -fsS -o "$out/server.cpu" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=$secs" &
cpu=$!
if [[ $isolation == process ]] && command -v perf >/dev/null; then
	worker=$(pgrep -P "$server" | head -n1 || true)
	if [[ -n $worker ]]; then
		perf record -F 999 -g -o "$out/worker.data" -p "$worker" -- sleep "$secs" >/dev/null 2>&1 || true
		perf report -i "$out/worker.data" --no-children --percent-limit 1 --stdio >"$out/worker.perf.txt" 2>/dev/null || true
		perf report -i "$out/worker.data" --children --sort sym --percent-limit 2 --stdio -g none \
			>"$out/worker.cum.txt" 2>/dev/null || true
	fi
fi
wait "$cpu"
curl -fsS -o "$out/server.allocs" "http://127.0.0.1:$pport/debug/pprof/allocs"
wait "${pids[1]}" || true
cat "$out/load.json"
