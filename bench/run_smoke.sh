#!/usr/bin/env bash
# bench/run_smoke.sh [BUILD_DIR]: `make bench-smoke` (inside `make test`): a real server on a
# free port with a temporary data dir, 200 seeded users (DMs, 20-member and 100-member groups),
# 200 gateway connections, 10 s of Poisson sends with some reconnect churn. Fails unless every
# expected delivery arrived with zero loss, duplicates and order violations. Under a minute.
set -euo pipefail

BUILD_DIR=${1:-${BUILD_DIR:-build}}
PARLEY=${PARLEY:-$BUILD_DIR/src/app/parley}
BENCH=${BENCH:-$BUILD_DIR/bench/parley-bench}
for bin in "$PARLEY" "$BENCH"; do
  [[ -x $bin ]] || { echo "bench-smoke: $bin is missing (build first)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "bench-smoke: python3 is required" >&2; exit 2; }

tmp=$(mktemp -d /tmp/parley-bench-smoke.XXXXXX)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/spec.json" <<'JSON'
{"users": 200, "prefix": "smoke", "dm_pairs_per_user": 1,
 "groups": [{"count": 40, "size": 20}, {"count": 2, "size": 100}], "seed": 7}
JSON
"$PARLEY" admin seed --store.data_dir="$tmp/data" --log.level=warn \
  --spec "$tmp/spec.json" --out "$tmp/seed.json" 2> "$tmp/seed.err" ||
  { cat "$tmp/seed.err" >&2; echo "bench-smoke: seeding failed" >&2; exit 1; }

"$PARLEY" serve --http.port=0 --store.data_dir="$tmp/data" --log.level=warn \
  > "$tmp/server.out" 2> "$tmp/server.err" &
server_pid=$!
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's|^listening on http://\([^ ]*\)$|\1|p' "$tmp/server.out" | head -1)
  [[ -n $addr ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $addr ]]; then
  echo "bench-smoke: the server did not start" >&2
  cat "$tmp/server.err" >&2
  exit 1
fi
host=${addr%:*}
port=${addr##*:}

set +e
"$BENCH" --seed "$tmp/seed.json" --host "$host" --port "$port" --connections 200 \
  --ramp 400 --settle 1 --duration 10 --rate 100 --mix 60,35,5 --large-threshold 50 \
  --body-bytes 250 --reconnects-per-min 60 --drain 10 --server-pid "$server_pid" \
  --max-run 45 > "$tmp/report.json"
bench_rc=$?

# Print the report, then check it (python3 is installed by scripts/install-deps.sh).
python3 - "$tmp/report.json" <<'CHECK'
import json, sys
raw = open(sys.argv[1]).read()
try:
    r = json.loads(raw)
except ValueError:
    print(raw)
    print("bench-smoke: FAILED: parley-bench printed no JSON report", file=sys.stderr)
    sys.exit(1)
print(json.dumps(r, indent=2))
d, m, c = r["deliveries"], r["messages"], r["connections"]
checks = [
    (c["identified"] == 200, "all 200 connections identified"),
    (m["sent"] > 500, "messages were sent"),
    (m["send_errors"] == 0, "no send errors"),
    (d["expected"] > 0 and d["received"] == d["expected"], "every expected delivery arrived"),
    (d["lost"] == 0, "zero loss"),
    (d["duplicates"] == 0, "zero duplicates"),
    (d["order_violations"] == 0, "zero order violations"),
    (r["ok"] is True, "parley-bench reported ok"),
]
failed = [what for ok, what in checks if not ok]
for what in failed:
    print(f"bench-smoke: FAILED: {what}", file=sys.stderr)
if not failed:
    print(f"bench-smoke: ok ({m['acked']} messages, {d['received']} deliveries, "
          f"p99 {r['latency_ms']['p99']} ms)")
sys.exit(1 if failed else 0)
CHECK
fail=$?
set -e
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "bench-smoke: FAILED: the server died" >&2
  cat "$tmp/server.err" >&2
  fail=1
fi
if [[ $fail -ne 0 || $bench_rc -ne 0 ]]; then
  tail -20 "$tmp/server.err" >&2
  exit 1
fi
