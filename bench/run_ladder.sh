#!/usr/bin/env bash
# bench/run_ladder.sh [BUILD_DIR]: `make bench`, a shortened CHAT-10K ladder (under 15 minutes)
# on this machine with the generator co-located. Writes bench/results/<date>-<commit>.json and
# regenerates the measured table in docs/benchmarks.md (bench/ladder_report.py).
#
#   A  load ladder: LADDER_USERS connections ramped at 500/s, 2,000 reconnects/min of churn,
#      steady 1x (1,200 msg/s: 60% DM, 35% 20-member rooms, 5% 1,000-member rooms, 250-byte
#      bodies), then steps of LADDER_STEPS x 1,200 msg/s to find the knee.
#   B  recovery: the same users ramped at 2,500/s (connect+identify rate), steady 1x, and in the
#      middle `kill -9` of the server, restart on the same port and data; clients resume by seq.
#   C  connection ceiling: LADDER_USERS + LADDER_EXTRA_USERS idle authenticated connections from
#      two generator processes.
#   D  durable writes: parley_micro_bench group commit of 100 messages (1 and 1,000 rooms).
#
# Knobs (environment): LADDER_USERS (10000), LADDER_EXTRA_USERS (9000), LADDER_RATE (1200),
# LADDER_STEPS ("2 3 4"), LADDER_STEADY_S (60), LADDER_STEP_S (30), LADDER_CHURN (2000),
# LADDER_NO_DOCS=1 (do not touch docs/benchmarks.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-build}}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
PARLEY=${PARLEY:-$BUILD_DIR/src/app/parley}
BENCH=${BENCH:-$BUILD_DIR/bench/parley-bench}
MICRO=${MICRO:-$BUILD_DIR/bench/parley_micro_bench}
USERS=${LADDER_USERS:-10000}
EXTRA=${LADDER_EXTRA_USERS:-9000}
RATE=${LADDER_RATE:-1200}
STEPS=${LADDER_STEPS:-"2 3 4"}
STEADY_S=${LADDER_STEADY_S:-60}
STEP_S=${LADDER_STEP_S:-30}
CHURN=${LADDER_CHURN:-2000}
for bin in "$PARLEY" "$BENCH"; do
  [[ -x $bin ]] || { echo "bench: $bin is missing (build first)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 2; }

tmp=$(mktemp -d /tmp/parley-ladder.XXXXXX)
server_pid=""
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT
log() { echo "bench: $(date +%T) $*" >&2; }
now_ms() { date +%s%3N; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$tmp/data

# start_server: sets server_pid and restart_ms (process start to "listening on").
start_server() {
  local t0; t0=$(now_ms)
  : > "$tmp/server.out"
  "$PARLEY" serve --http.port="$port" --store.data_dir="$data" --log.level=warn \
    >> "$tmp/server.out" 2>> "$tmp/server.err" &
  server_pid=$!
  for _ in $(seq 200); do
    grep -q '^listening on ' "$tmp/server.out" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.err" >&2; exit 1; }
    sleep 0.01
  done
  grep -q '^listening on ' "$tmp/server.out" || { echo "bench: server did not start" >&2; exit 1; }
  restart_ms=$(( $(now_ms) - t0 ))
}

# --- seed: CHAT-10K rooms for USERS users, plus EXTRA room-less users for the ceiling run.
groups20=$(( USERS * 5 / 20 )); groups1000=$(( USERS / 1000 )); (( groups1000 >= 1 )) || groups1000=1
big=$(( USERS < 1000 ? USERS : 1000 ))
echo "{\"users\": $USERS, \"prefix\": \"b\", \"dm_pairs_per_user\": 1, \"groups\": [{\"count\": $groups20, \"size\": 20}, {\"count\": $groups1000, \"size\": $big}], \"seed\": 42}" > "$tmp/spec.json"
log "seeding $USERS users ($groups20 rooms of 20, $groups1000 of $big, DMs) + $EXTRA idle users"
t0=$(now_ms)
"$PARLEY" admin seed --store.data_dir="$data" --log.level=warn --spec "$tmp/spec.json" --out "$tmp/chat.json" 2>> "$tmp/seed.err"
seed_ms=$(( $(now_ms) - t0 ))
if (( EXTRA > 0 )); then
  echo "{\"users\": $EXTRA, \"prefix\": \"c\", \"dm_pairs_per_user\": 0, \"groups\": [], \"seed\": 43}" > "$tmp/spec2.json"
  "$PARLEY" admin seed --store.data_dir="$data" --log.level=warn --spec "$tmp/spec2.json" --out "$tmp/extra.json" 2>> "$tmp/seed.err"
  python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:3]); json.dump({"users": a["users"]+b["users"], "rooms": a["rooms"]}, open(sys.argv[3],"w"))' \
    "$tmp/chat.json" "$tmp/extra.json" "$tmp/all.json"
fi

start_server
first_start_ms=$restart_ms

# --- A: load ladder
phases=(--phase "steady-1x:$STEADY_S:$RATE")
for s in $STEPS; do phases+=(--phase "step-${s}x:$STEP_S:$(( RATE * s ))"); done
log "A: $USERS connections, steady ${RATE}/s then steps x{$STEPS}"
"$BENCH" --seed "$tmp/chat.json" --host 127.0.0.1 --port "$port" --connections "$USERS" \
  --ramp 500 --threads 2 "${phases[@]}" --reconnects-per-min "$CHURN" --large-threshold 100 \
  --body-bytes 250 --server-pid "$server_pid" --connect-timeout 60 --drain 20 --max-run 420 \
  > "$tmp/A.json" &
bench_pid=$!
# Profile the server for 20 s of the steady phase (perf, call graphs) unless LADDER_PERF=0.
if [[ ${LADDER_PERF:-1} = 1 ]] && command -v perf >/dev/null; then
  sleep $(( USERS / 500 + 2 + 10 ))
  perf record -F 499 -g -p "$server_pid" -o "$tmp/perf.data" -- sleep 20 > /dev/null 2>&1 || true
fi
wait "$bench_pid" || true

# --- B: recovery (kill -9 in the middle of a steady run)
stop_server; start_server
ramp_s=$(( USERS / 2500 + 1 ))
log "B: ramp at 2500/s, steady 1x, kill -9 + restart after $(( ramp_s + 25 )) s"
"$BENCH" --seed "$tmp/chat.json" --host 127.0.0.1 --port "$port" --connections "$USERS" \
  --ramp 2500 --threads 2 --phase "recovery-1x:60:$RATE" --large-threshold 100 --body-bytes 250 \
  --settle 1 --connect-timeout 60 --drain 30 --max-run 240 > "$tmp/B.json" &
bench_pid=$!
sleep $(( ramp_s + 25 ))
kill -9 "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""
start_server
recovery_restart_ms=$restart_ms
log "B: restarted in ${recovery_restart_ms} ms"
wait "$bench_pid" || true

# --- C: connection ceiling (two generator processes, idle)
if (( EXTRA > 0 )); then
  stop_server; start_server
  log "C: $(( USERS + EXTRA )) idle connections from 2 processes"
  c_pids=()
  for shard in 0 1; do
    "$BENCH" --seed "$tmp/all.json" --host 127.0.0.1 --port "$port" --shard "$shard/2" \
      --ramp 1500 --phase idle:5:0 --source-addrs 16 --server-pid "$server_pid" \
      --connect-timeout 60 --drain 1 --max-run 150 > "$tmp/C$shard.json" &
    c_pids+=($!)
  done
  for p in "${c_pids[@]}"; do wait "$p" || true; done
fi
stop_server

# --- D: durable writes (store group commit)
if [[ -x $MICRO ]]; then
  log "D: micro-benchmarks"
  # The hot paths of the bar only: the rendering bombs (bench/micro/render_bench.cc) are dozens
  # of 2 s runs and are measured by hand (docs/benchmarks.md, "Message rendering").
  (cd "$tmp" && "$MICRO" --benchmark_format=json --benchmark_min_time=2 \
    --benchmark_filter='BM_(DecodeSendFrame|EncodeEventOnce|FanOut|GroupCommit)' > "$tmp/D.json" 2> "$tmp/D.err") || true
fi
[[ -s $tmp/D.json ]] || echo '{}' > "$tmp/D.json"

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
date_s=$(date -u +%Y%m%dT%H%M%SZ)
out=$ROOT/bench/results/$date_s-$commit.json
mkdir -p "$ROOT/bench/results"
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') \
python3 - "$tmp" "$out" "$date_s" "$commit" "$USERS" "$EXTRA" "$RATE" "$STEPS" "$seed_ms" \
  "$first_start_ms" "$recovery_restart_ms" <<'MERGE'
import json, os, platform, sys
tmp, out, date, commit, users, extra, rate, steps, seed_ms, start_ms, restart_ms = sys.argv[1:12]
def load(name):
    try:
        return json.load(open(os.path.join(tmp, name + ".json")))
    except (OSError, ValueError):
        return {}
mem_kib = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
res = {
    "date": date, "commit": commit,
    "machine": {"cpu": os.environ.get("CPU_MODEL", "?"), "cores": os.cpu_count(),
                "kernel": platform.release(), "mem_kib": mem_kib,
                "load_avg_at_end": list(os.getloadavg()),
                "note": "server and generator co-located"},
    "workload": {"users": int(users), "extra_idle_users": int(extra), "base_rate": int(rate), "steps": steps},
    "seed_ms": int(seed_ms), "server_start_ms": int(start_ms), "restart_after_kill9_ms": int(restart_ms),
    "load": load("A"), "recovery": load("B"), "ceiling": [load("C0"), load("C1")], "micro": load("D"),
}
# The newest soak (`make bench-soak`, too long for this run), summarised, if one was recorded.
import glob
soaks = sorted(glob.glob(os.path.join(os.path.dirname(out), "*-soak.json")))
if soaks:
    s = json.load(open(soaks[-1]))
    s.pop("samples", None)
    g = s.get("generator") or {}
    ph = (g.get("phases") or [{}])[0]
    s["generator"] = {"ok": g.get("ok"), "deliveries": g.get("deliveries"),
                      "server_cpu_util": ph.get("server_cpu_util"), "latency_ms": ph.get("latency_ms")}
    s["file"] = os.path.relpath(soaks[-1], os.path.dirname(os.path.dirname(os.path.dirname(out))))
    res["soak"] = s

json.dump(res, open(out, "w"), indent=1)
MERGE
if [[ -s $tmp/perf.data ]]; then
  perf report -i "$tmp/perf.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.5 \
    2>/dev/null | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' \
    | head -80 > "${out%.json}-perf.txt" || true
  perf report -i "$tmp/perf.data" --stdio --children --sort symbol -g none --percent-limit 2 \
    2>/dev/null | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' \
    | head -80 > "${out%.json}-perf-children.txt" || true
  log "profile: ${out%.json}-perf.txt"
fi
log "results: $out"
if [[ ${LADDER_NO_DOCS:-0} != 1 ]]; then
  python3 "$ROOT/bench/ladder_report.py" "$out" "$ROOT/docs/benchmarks.md"
  log "updated docs/benchmarks.md"
fi
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"load_ok": r["load"].get("ok"), "recovery_ok": r["recovery"].get("ok")}))' "$out"
