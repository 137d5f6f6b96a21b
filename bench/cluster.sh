#!/usr/bin/env bash
# bench/cluster.sh — the cluster part of `make bench`: PiCloud's Hello
# World route on one cluster node against three, all on 127.0.0.1 and the
# PostgreSQL at PICLOUD_DATABASE_URL, the load sent to node 1 only. Each
# run gets a fresh schema of that database (dropped afterwards). Reported:
# req/s, p50 and p99 of one node and of three, with many connections and
# with one, and how the three nodes shared the calls (invocations per
# node, counted through node 1's admin API). Needs curl, jq and psql.
# Without PICLOUD_DATABASE_URL (or with a PostgreSQL that does not answer)
# it says so and skips: cluster mode needs PostgreSQL.
#
# Usage (from anywhere):  PICLOUD_DATABASE_URL=postgres://... bench/cluster.sh
# Knobs (environment):
#   BENCH_CLUSTER       0 skips this part                  (default 1)
#   BENCH_DURATION      measured time per target           (default 10s)
#   BENCH_WARMUP        unmeasured warm-up per target      (default 2s)
#   BENCH_CONNS         concurrent keep-alive connections  (default 64)
#   BENCH_C1_DURATION   measured time of the 1-connection run; 0 skips it (default 5s)
#   BENCH_ISOLATION     executor.isolation of the nodes    (default process)
#   BENCH_PICLOUD_BIN   benchmark this picloud binary instead of building ./cmd/picloud
#
# All nodes and the load generator share the machine's cores: three nodes
# on one 2-core machine compete for the same two cores, so this measures
# what spreading costs (the extra hop, three processes' overhead), not
# what three machines would gain.
set -euo pipefail

if [[ ${BENCH_CLUSTER:-1} == 0 ]]; then
	echo "bench: cluster: skipped (BENCH_CLUSTER=0)" >&2
	exit 0
fi
db_url=${PICLOUD_DATABASE_URL:-}
if [[ -z $db_url ]]; then
	echo "bench: cluster: skipped: set PICLOUD_DATABASE_URL to a PostgreSQL URL (cluster mode needs PostgreSQL)" >&2
	exit 0
fi
for tool in curl jq psql; do
	command -v "$tool" >/dev/null || { echo "bench: cluster: skipped: $tool is missing" >&2; exit 0; }
done
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
if ! psql -X -q "$db_url" -c 'select 1' >/dev/null 2>&1; then
	echo "bench: cluster: skipped: PostgreSQL at PICLOUD_DATABASE_URL does not answer" >&2
	exit 0
fi

duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
conns=${BENCH_CONNS:-64}
c1_duration=${BENCH_C1_DURATION:-5s}
isolation=${BENCH_ISOLATION:-process}
admin_user=bench
admin_password="bench password 1234"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/picloud-bench-cluster.XXXXXX")
pids=()
schemas=()

cleanup() {
	local pid schema
	for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
	for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
	for schema in ${schemas[@]+"${schemas[@]}"}; do
		psql -X -q "$db_url" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf 'bench: cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

forget() {
	local keep=() pid
	for pid in ${pids[@]+"${pids[@]}"}; do [[ $pid == "$1" ]] || keep+=("$pid"); done
	pids=(${keep[@]+"${keep[@]}"})
}

# run_child CMD...: run CMD as a background job, so a trapped INT/TERM
# is handled at once (see bench/run.sh).
run_child() {
	"$@" &
	local pid=$! status=0
	pids+=("$pid")
	wait "$pid" || status=$?
	forget "$pid"
	return "$status"
}

# json_field FILE KEY: a number from loadgen's one-line JSON output.
json_field() { sed -E "s/.*\"$2\":([-0-9.e+]+).*/\1/" "$1"; }

build() {
	log "building into $tmp"
	cd "$repo"
	run_child go build -o "$tmp/loadgen" ./bench/cmd/loadgen
	if [[ -n ${BENCH_PICLOUD_BIN:-} ]]; then
		picloud=$BENCH_PICLOUD_BIN
	else
		run_child go build -o "$tmp/picloud" ./cmd/picloud
		picloud=$tmp/picloud
	fi
}

# new_schema NAME: a fresh schema of the database; prints the URL that
# puts it first on the search path.
new_schema() {
	local schema="picloud_bench_$1_$$"
	psql -X -q "$db_url" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null ||
		die "could not create schema $schema"
	schemas+=("$schema")
	if [[ $db_url == *\?* ]]; then
		printf '%s&search_path=%s\n' "$db_url" "$schema"
	else
		printf '%s?search_path=%s\n' "$db_url" "$schema"
	fi
}

# start_node NAME URL [JOIN]: start a cluster node on free ports of
# 127.0.0.1; sets node_port[NAME], node_gossip[NAME], node_pid[NAME].
declare -A node_port node_gossip node_pid node_metrics
start_node() {
	local name=$1 url=$2 join=${3:-} port gossip remote metrics pid i
	port=$("$tmp/loadgen" -freeport)
	metrics=$("$tmp/loadgen" -freeport)
	gossip=$("$tmp/loadgen" -freeport)
	remote=$("$tmp/loadgen" -freeport)
	printf 'executor {\n  isolation = "%s"\n}\n' "$isolation" >"$tmp/$name.hcl"
	env PICLOUD_DATA_DIR="$tmp/data-$name" PICLOUD_DATABASE_URL="$url" PICLOUD_LISTEN="127.0.0.1:$port" \
		PICLOUD_METRICS_LISTEN="127.0.0.1:$metrics" PICLOUD_NODE_NAME="$name" PICLOUD_CLUSTER_GOSSIP="127.0.0.1:$gossip" PICLOUD_CLUSTER_REMOTE="127.0.0.1:$remote" \
		${join:+PICLOUD_CLUSTER_JOIN="$join"} \
		PICLOUD_ADMIN_USERNAME=$admin_user PICLOUD_ADMIN_PASSWORD="$admin_password" \
		"$picloud" serve --config "$tmp/$name.hcl" >"$tmp/$name.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for ((i = 0; ; i++)); do
		run_child "$tmp/loadgen" -url "http://127.0.0.1:$port/readyz" -wait 1s >/dev/null 2>&1 && break
		if ((i >= 60)) || ! kill -0 "$pid" 2>/dev/null; then
			log "$name did not become ready; the end of its log:"
			tail -n 40 "$tmp/$name.log" >&2
			exit 1
		fi
	done
	node_port[$name]=$port node_gossip[$name]=127.0.0.1:$gossip node_pid[$name]=$pid node_metrics[$name]=$metrics
}

# stop_nodes NAME...: SIGTERM (a graceful leave) and wait.
stop_nodes() {
	local name
	for name in "$@"; do kill "${node_pid[$name]}" 2>/dev/null || true; done
	for name in "$@"; do
		wait "${node_pid[$name]}" 2>/dev/null || true
		forget "${node_pid[$name]}"
	done
}

# api PORT METHOD PATH [CURL ARGS...]: the admin API of the node on PORT.
api() {
	local port=$1 method=$2 path=$3
	shift 3
	curl -fsS -X "$method" -H 'Host: admin.localhost' -H "Authorization: Bearer $token" \
		"http://127.0.0.1:$port/api/v1/admin$path" "$@"
}

login() {
	token=$(curl -fsS -H 'Host: admin.localhost' -H 'Content-Type: application/json' \
		-d "{\"username\":\"$admin_user\",\"password\":\"$admin_password\"}" \
		"http://127.0.0.1:$1/api/v1/admin/auth/login" | jq -r .token)
	[[ -n $token && $token != null ]] || die "could not log in on port $1"
}

# wait_alive PORT N: until GET /cluster on PORT lists N members alive.
wait_alive() {
	local i alive
	for ((i = 0; i < 300; i++)); do
		alive=$(api "$1" GET /cluster | jq '[.members[] | select(.status == "alive")] | length')
		((alive == $2)) && return
		sleep 0.1
	done
	die "the cluster did not reach $2 members alive"
}

# now: the time, as the admin API's since= takes it.
now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }

# measure NAME URL: loadgen with $conns connections, then (unless
# BENCH_C1_DURATION is 0) one; JSON in $tmp/NAME.json, $tmp/NAME-c1.json;
# the time each started (warm-up included) in started[NAME] and
# started[NAME-c1].
declare -A started
measure() {
	started[$1]=$(now)
	log "$1: $2 ($conns connections, $warmup warm-up, $duration measured)"
	run_child "$tmp/loadgen" -url "$2" -c "$conns" -d "$duration" -warmup "$warmup" -json >"$tmp/$1.json" ||
		die "$1: load generator failed"
	[[ $c1_duration == 0 ]] && return
	started[$1-c1]=$(now)
	log "$1: $2 (1 connection, $warmup warm-up, $c1_duration measured)"
	run_child "$tmp/loadgen" -url "$2" -c 1 -d "$c1_duration" -warmup "$warmup" -json >"$tmp/$1-c1.json" ||
		die "$1: load generator failed (1 connection)"
}

# count_node PORT NODE SINCE: invocations the node NODE ran since the
# time SINCE, paged through the admin API of the node on PORT (500 at a
# time, newest first).
count_node() {
	local port=$1 node=$2 since=$3 total=0 before="" page n
	while :; do
		page=$(api "$port" GET "/invocations?node=$node&since=$since&limit=500${before:+&before=$before}")
		n=$(jq '.items | length' <<<"$page")
		((total += n))
		((n == 500)) || break
		before=$(jq '.items[-1].id' <<<"$page")
	done
	echo "$total"
}

# metric NODE PATTERN: the sum of the series of NODE's /metrics whose
# name and labels match the extended regular expression PATTERN.
metric() {
	curl -fsS "http://127.0.0.1:${node_metrics[$1]}/metrics" |
		awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { sum += $2 } END { printf "%d\n", sum }'
}

# bench_one: node n1 alone, in cluster mode.
bench_one() {
	local url
	url=$(new_schema one)
	start_node n1 "$url"
	login "${node_port[n1]}"
	wait_alive "${node_port[n1]}" 1
	measure one "http://127.0.0.1:${node_port[n1]}/"
	stop_nodes n1
}

# bench_three: n1, n2 and n3 (both joining n1), the load on n1 only.
bench_three() {
	local url name
	url=$(new_schema three)
	start_node n1 "$url"
	start_node n2 "$url" "${node_gossip[n1]}"
	start_node n3 "$url" "${node_gossip[n1]}"
	login "${node_port[n1]}"
	wait_alive "${node_port[n1]}" 3
	measure three "http://127.0.0.1:${node_port[n1]}/"
	sleep 2 # the last records reach the database (within a second)
	# Records of the many-connection run are those since it started
	# less those of the one-connection run after it.
	local all c1
	: >"$tmp/spread"
	: >"$tmp/spread-c1"
	for name in n1 n2 n3; do
		all=$(count_node "${node_port[n1]}" "$name" "${started[three]}")
		c1=0
		[[ $c1_duration == 0 ]] || c1=$(count_node "${node_port[n1]}" "$name" "${started[three-c1]}")
		printf '%s %s\n' "$name" "$((all - c1))" >>"$tmp/spread"
		printf '%s %s\n' "$name" "$c1" >>"$tmp/spread-c1"
		printf '%s %s %s\n' "$name" "$(metric "$name" '^picloud_invocations_unrecorded_total')" \
			"$(metric "$name" '^picloud_invocations_dropped_total')" >>"$tmp/unrecorded"
	done
	# n1's own count of what it sent to the others, exact (records may
	# be dropped under load).
	metric n1 '^picloud_requests_total' >"$tmp/requests"
	metric n1 '^picloud_cluster_remote_calls_total.*outcome="ok"' >"$tmp/remote"
	stop_nodes n3 n2 n1
}

report() {
	local name status=0 names=(one three)
	[[ $c1_duration == 0 ]] || names+=(one-c1 three-c1)
	printf '\ncluster: GET / (Hello World) sent to n1 only, executor.isolation = %s\n' "$isolation"
	printf '%-10s %12s %10s %10s %8s %7s\n' target req/s p50 p99 non-2xx errors
	for name in "${names[@]}"; do
		awk -v name="$name" -v rps="$(json_field "$tmp/$name.json" rps)" \
			-v p50="$(json_field "$tmp/$name.json" p50_us)" -v p99="$(json_field "$tmp/$name.json" p99_us)" \
			-v non2xx="$(json_field "$tmp/$name.json" non_2xx)" -v errs="$(json_field "$tmp/$name.json" errors)" \
			'BEGIN { printf "%-10s %12.0f %8.2fms %8.2fms %8d %7d\n", name, rps, p50 / 1000, p99 / 1000, non2xx, errs }'
		if [[ $(json_field "$tmp/$name.json" non_2xx) != 0 || $(json_field "$tmp/$name.json" errors) != 0 ]]; then
			status=1
		fi
	done
	awk -v o="$(json_field "$tmp/one.json" rps)" -v t="$(json_field "$tmp/three.json" rps)" \
		'BEGIN { printf "\nratio three/one: %.2fx (%d connections)\n", (o > 0 ? t / o : 0), '"$conns"' }'
	if [[ $c1_duration != 0 ]]; then
		awk -v o="$(json_field "$tmp/one-c1.json" p50_us)" -v t="$(json_field "$tmp/three-c1.json" p50_us)" \
			'BEGIN { printf "p50 three c1 - one c1: %+.0f us (one connection: calls take slot 0, on whichever node owns it)\n", t - o }'
	fi
	spread() {
		awk -v what="$1" '{ n[$1] = $2; total += $2 } END {
			printf "spread, %s (invocation records per node, warm-up included):", what
			for (i = 1; i <= 3; i++) { k = "n" i; printf " %s %d (%.0f%%)", k, n[k], (total > 0 ? 100 * n[k] / total : 0) }
			printf "\n"
		}' "$2"
	}
	awk -v req="$(<"$tmp/requests")" -v remote="$(<"$tmp/remote")" 'BEGIN {
		printf "n1 received %d requests in the three-node run (warm-ups included) and sent %d (%.0f%%) to executors on n2 and n3 (its /metrics)\n", req, remote, (req > 0 ? 100 * remote / req : 0)
	}'
	awk '{ printf "%s%s %d/%d", (NR > 1 ? ", " : "calls not recorded (invocations.max_per_second) / records dropped, per node: "), $1, $2, $3 } END { printf "\n" }' "$tmp/unrecorded"
	spread "three, $conns connections" "$tmp/spread"
	[[ $c1_duration == 0 ]] || spread "three, 1 connection" "$tmp/spread-c1"
	printf '(%s cores, load average %s, %s connections, %s measured per target, %s)\n' \
		"$(getconf _NPROCESSORS_ONLN)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$conns" "$duration" "$(go version | cut -d' ' -f3-)"
	((status == 0)) || die "some requests failed or were not 2xx; the numbers above are not comparable"
}

build
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_one
bench_three
report
