#!/usr/bin/env bash
# bench/run.sh — `make bench`: PiCloud's Hello World route against a bare
# fasthttp handler giving the same answer, measured by the same load
# generator in the same run, reported as req/s, latency and the ratio
# picloud/bare. PiCloud runs twice: with scripts in a worker process
# (executor.isolation = "process", the default) and in the server
# process ("none"), which gives the cost of process isolation. Each run
# also measures GET /kv, a script that reads a key of its app's storage
# and increments it (SDK v2: two database round trips, one a write),
# reported as its ratio to the hello route. Needs curl and jq.
#
# Usage (from anywhere):  bench/run.sh
# Knobs (environment):
#   BENCH_DURATION      measured time per target           (default 10s)
#   BENCH_WARMUP        unmeasured warm-up per target      (default 2s)
#   BENCH_CONNS         concurrent keep-alive connections  (default 64)
#   BENCH_C1_DURATION   measured time of the 1-connection (latency-bound)
#                       run of each target; 0 skips it     (default 5s)
#   BENCH_PATH          path requested on both targets     (default /)
#   BENCH_BODY          body the bare server answers       (default {"hello":"world"})
#   BENCH_CONTENT_TYPE  Content-Type it answers            (default application/json)
#   BENCH_PICLOUD_BIN   benchmark this picloud binary instead of building ./cmd/picloud
#
# The load generator and the server share the machine: on 2 cores every
# cycle the client spends is taken from the server, so absolute req/s
# understate the server. Both targets pay the same client cost, which is
# why the ratio, not the absolute number, is the figure to compare between
# runs. Targets run one after the other, never at the same time.
set -euo pipefail

duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
conns=${BENCH_CONNS:-64}
c1_duration=${BENCH_C1_DURATION:-5s}
path=${BENCH_PATH:-/}
body=${BENCH_BODY:-'{"hello":"world"}'}
content_type=${BENCH_CONTENT_TYPE:-application/json}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/picloud-bench.XXXXXX")
pids=()

cleanup() {
	local pid
	for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
	for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# forget PID: drop PID from the processes cleanup stops.
forget() {
	local keep=() pid
	for pid in ${pids[@]+"${pids[@]}"}; do [[ $pid == "$1" ]] || keep+=("$pid"); done
	pids=(${keep[@]+"${keep[@]}"})
}

# stop PID: end one process this script started.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget "$1"
}

# json_field FILE KEY: a number from loadgen's one-line JSON output.
json_field() { sed -E "s/.*\"$2\":([-0-9.e+]+).*/\1/" "$1"; }

# run_child CMD...: run CMD to completion as a background job. A foreground
# child would make bash hold a trapped INT/TERM until the child exits (and
# drop it if the child exits normally); `wait` returns at once instead, the
# trap runs, and cleanup stops the child.
run_child() {
	"$@" &
	local pid=$! status=0
	pids+=("$pid")
	wait "$pid" || status=$?
	forget "$pid"
	return "$status"
}

# measure NAME URL: run the load generator with $conns connections, then
# (unless BENCH_C1_DURATION is 0) with one, leaving the JSON in
# $tmp/NAME.json and $tmp/NAME-c1.json.
measure() {
	log "$1: $2 ($conns connections, $warmup warm-up, $duration measured)"
	run_child "$tmp/loadgen" -url "$2" -c "$conns" -d "$duration" -warmup "$warmup" -json >"$tmp/$1.json" ||
		die "$1: load generator failed"
	[[ $c1_duration == 0 ]] && return
	log "$1: $2 (1 connection, $warmup warm-up, $c1_duration measured)"
	run_child "$tmp/loadgen" -url "$2" -c 1 -d "$c1_duration" -warmup "$warmup" -json >"$tmp/$1-c1.json" ||
		die "$1: load generator failed (1 connection)"
}

build() {
	log "building into $tmp"
	cd "$repo"
	run_child go build -o "$tmp/loadgen" ./bench/cmd/loadgen
	run_child go build -o "$tmp/bareserver" ./bench/cmd/bareserver
	if [[ -n ${BENCH_PICLOUD_BIN:-} ]]; then
		picloud=$BENCH_PICLOUD_BIN
	else
		[[ -d ./cmd/picloud ]] || die "./cmd/picloud does not exist yet (set BENCH_PICLOUD_BIN to use a built binary)"
		run_child go build -o "$tmp/picloud" ./cmd/picloud
		picloud=$tmp/picloud
	fi
}

bench_bare() {
	: >"$tmp/bare.log"
	"$tmp/bareserver" -body "$body" -content-type "$content_type" >"$tmp/bare.log" 2>&1 &
	local pid=$! addr="" i
	pids+=("$pid")
	for ((i = 0; i < 200; i++)); do
		addr=$(sed -n 's/^listening //p' "$tmp/bare.log")
		[[ -n $addr ]] && break
		kill -0 "$pid" 2>/dev/null || die "bareserver exited: $(cat "$tmp/bare.log")"
		sleep 0.05
	done
	[[ -n $addr ]] || die "bareserver did not print its address"
	measure bare "http://$addr$path"
	stop "$pid"
}

# The KV route's script: a read and an atomic increment of one key.
kv_script='package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	before, _, _ := picloud.KV.Get("hits")
	n, err := picloud.KV.Increment("hits", 1)
	if err != nil {
		return picloud.Text(500, err.Error())
	}
	return picloud.JSON(200, map[string]any{"before": string(before), "hits": n})
}
'

# deploy_kv PORT: bind the KV script to GET /kv in the Hello World app,
# through the admin API (the bench admin is bootstrapped at start).
deploy_kv() {
	local api="http://127.0.0.1:$1/api/v1/admin" token id
	local hdr=(-H 'Host: admin.localhost' -H 'Content-Type: application/json')
	token=$(curl -fsS "${hdr[@]}" -d '{"username":"bench","password":"bench password 1234"}' "$api/auth/login" | jq -r .token)
	hdr+=(-H "Authorization: Bearer $token")
	id=$(jq -n --arg src "$kv_script" '{name: "kv", source: $src}' |
		curl -fsS "${hdr[@]}" -d @- "$api/apps/hello/scripts" | jq -r .id)
	curl -fsS "${hdr[@]}" -d '{"method":"GET","path":"/kv"}' "$api/scripts/$id/routes" >/dev/null
}

# bench_picloud NAME ISOLATION: PiCloud with executor.isolation = ISOLATION.
bench_picloud() {
	local name=$1 port pid got
	port=$("$tmp/loadgen" -freeport)
	printf 'executor {\n  isolation = "%s"\n}\n' "$2" >"$tmp/$name.hcl"
	PICLOUD_DATA_DIR="$tmp/data-$name" PICLOUD_LISTEN="127.0.0.1:$port" \
		PICLOUD_ADMIN_USERNAME=bench PICLOUD_ADMIN_PASSWORD="bench password 1234" \
		"$picloud" serve --config "$tmp/$name.hcl" >"$tmp/picloud.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	local i
	for ((i = 0; ; i++)); do
		run_child "$tmp/loadgen" -url "http://127.0.0.1:$port/healthz" -wait 1s >/dev/null 2>&1 && break
		if ((i >= 30)) || ! kill -0 "$pid" 2>/dev/null; then
			log "picloud did not become healthy; the end of its log:"
			tail -n 40 "$tmp/picloud.log" >&2
			exit 1
		fi
	done
	run_child "$tmp/loadgen" -url "http://127.0.0.1:$port$path" -wait 5s >"$tmp/answer" ||
		die "picloud: GET $path does not answer 200 (is the Hello World app seeded?)"
	got=$(<"$tmp/answer")
	[[ $got == "$body" ]] ||
		log "warning: picloud answers $got, bare answers $body: the ratio compares different work"
	measure "$name" "http://127.0.0.1:$port$path"
	deploy_kv "$port" || die "picloud: could not deploy the KV route"
	run_child "$tmp/loadgen" -url "http://127.0.0.1:$port/kv" -wait 5s >/dev/null ||
		die "picloud: GET /kv does not answer 200"
	# The KV route is reported only as its ratio to hello: no c1 run.
	c1_duration=0 measure "$name-kv" "http://127.0.0.1:$port/kv"
	stop "$pid"
}

report() {
	local name status=0 names=(bare process none process-kv none-kv)
	[[ $c1_duration == 0 ]] || names+=(bare-c1 process-c1 none-c1)
	printf '\n%-10s %12s %10s %10s %8s %7s\n' target req/s p50 p99 non-2xx errors
	for name in "${names[@]}"; do
		awk -v name="$name" -v rps="$(json_field "$tmp/$name.json" rps)" \
			-v p50="$(json_field "$tmp/$name.json" p50_us)" -v p99="$(json_field "$tmp/$name.json" p99_us)" \
			-v non2xx="$(json_field "$tmp/$name.json" non_2xx)" -v errs="$(json_field "$tmp/$name.json" errors)" \
			'BEGIN { printf "%-10s %12.0f %8.2fms %8.2fms %8d %7d\n", name, rps, p50 / 1000, p99 / 1000, non2xx, errs }'
		if [[ $(json_field "$tmp/$name.json" non_2xx) != 0 || $(json_field "$tmp/$name.json" errors) != 0 ]]; then
			status=1
		fi
	done
	awk -v p="$(json_field "$tmp/process.json" rps)" -v n="$(json_field "$tmp/none.json" rps)" \
		-v b="$(json_field "$tmp/bare.json" rps)" -v pp99="$(json_field "$tmp/process.json" p99_us)" \
		-v np99="$(json_field "$tmp/none.json" p99_us)" -v bp99="$(json_field "$tmp/bare.json" p99_us)" 'BEGIN {
			printf "\nratio process/bare: %.2fx\n", (b > 0 ? p / b : 0)
			printf "ratio none/bare:    %.2fx\n", (b > 0 ? n / b : 0)
			printf "ratio process/none: %.2fx (the throughput cost of process isolation)\n", (n > 0 ? p / n : 0)
			printf "p99 process/bare:   %.2fx (%.2f ms / %.2f ms)\n", (bp99 > 0 ? pp99 / bp99 : 0), pp99 / 1000, bp99 / 1000
			printf "p99 none/bare:      %.2fx (%.2f ms / %.2f ms)\n", (bp99 > 0 ? np99 / bp99 : 0), np99 / 1000, bp99 / 1000
		}'
	awk -v p="$(json_field "$tmp/process.json" rps)" -v n="$(json_field "$tmp/none.json" rps)" \
		-v pk="$(json_field "$tmp/process-kv.json" rps)" -v nk="$(json_field "$tmp/none-kv.json" rps)" 'BEGIN {
			printf "ratio kv/hello (process): %.2fx (KV read and increment, SDK v2)\n", (p > 0 ? pk / p : 0)
			printf "ratio kv/hello (none):    %.2fx\n", (n > 0 ? nk / n : 0)
		}'
	if [[ $c1_duration != 0 ]]; then
		awk -v p="$(json_field "$tmp/process-c1.json" rps)" -v n="$(json_field "$tmp/none-c1.json" rps)" \
			-v b="$(json_field "$tmp/bare-c1.json" rps)" 'BEGIN {
				printf "ratio process c1/bare c1: %.2fx (latency-bound: one connection)\n", (b > 0 ? p / b : 0)
				printf "ratio none c1/bare c1:    %.2fx\n", (b > 0 ? n / b : 0)
			}'
	fi
	printf '(%s cores, %s connections, %s measured per target, %s)\n' \
		"$(getconf _NPROCESSORS_ONLN)" "$conns" "$duration" "$(go version | cut -d' ' -f3-)"
	((status == 0)) || die "some requests failed or were not 2xx; the numbers above are not comparable"
}

build
bench_bare
bench_picloud process process
bench_picloud none none
report
