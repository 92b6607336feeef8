#!/usr/bin/env bash
# The issue-13 load target: cheap kept-alive `backlinks` requests to `serve`, alone and while a
# crawl writes the same index. One test web (50 hosts × PAGES pages of 16 KB), a first crawl,
# then for each round: `bench http` alone, and `bench http` while a recrawl runs at RATE
# requests per second per host (1: the crawler's default politeness; 0: unlimited).
#
#   bash bench/http-while-crawling.sh                 # RATE=1 PAGES=400 ROUNDS=2
#   RATE=0 bash bench/http-while-crawling.sh          # the crawl as fast as it goes
#   CONNS=32 bash bench/http-while-crawling.sh        # 32 clients instead of 8
#   LOADGEN=/path/to/other/linkdiff bash ...          # another build's `bench http`
#
# Prints requests/s and latency percentiles from `bench http`, the server's CPU per request
# (/proc/PID/stat) and the load generator's (user + sys), and the crawl's own summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1}
PAGES=${PAGES:-400}
ROUNDS=${ROUNDS:-2}
SECONDS_EACH=${SECONDS_EACH:-5}
CONNS=${CONNS:-8}
WEB_PORT=${WEB_PORT:-18095}
API_PORT=${API_PORT:-18096}
cargo build --release --quiet -p linkdiff
B=$PWD/target/release/linkdiff
LOADGEN=${LOADGEN:-$B}
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT

"$B" testweb --port "$WEB_PORT" --hosts 50 --pages "$PAGES" --filler 16000 \
  --seeds-file "$WORK/seeds.txt" >/dev/null 2>&1 &
PIDS+=($!)
sleep 1
crawl() { # crawl DAY RATE
  "$B" crawl "$WORK/seeds.txt" --db "$WORK/index.db" --resolve "*.test:$WEB_PORT:127.0.0.1" \
    --rate "$2" --concurrency 64 --as-of "$1"
}
crawl 2026-11-01 0 2>&1 | tail -1
"$B" serve --db "$WORK/index.db" --listen "127.0.0.1:$API_PORT" >/dev/null 2>&1 &
SERVER=$!
PIDS+=($SERVER)
sleep 1
REQ="/?from=backlinks&target=http://h001.test:$WEB_PORT/p3.html&mode=exact&limit=10&output=json"
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
load() { # load LABEL
  local a b out n
  a=$(cpu)
  out=$( { /usr/bin/time -f 'GEN %U %S' "$LOADGEN" bench http --addr "127.0.0.1:$API_PORT" \
    --connections "$CONNS" --seconds "$SECONDS_EACH" --path "$REQ"; } 2>&1)
  b=$(cpu)
  gen=$(grep '^GEN' <<<"$out" | awk '{print $2 + $3}')
  out=$(grep '^http' <<<"$out")
  n=$(echo "$out" | awk '{print $2}')
  echo "$1: ${out#http: } | server $(((b - a) * 1000000 / 100 / n)) us, load generator $(awk -v g="$gen" -v n="$n" 'BEGIN {printf "%.0f", g * 1e6 / n}') us of CPU per request"
}
for r in $(seq "$ROUNDS"); do
  load "round $r, alone"
  day=$(date -u -d "2026-11-01 + $r days" +%F)
  "$B" crawl "$WORK/seeds.txt" --db "$WORK/index.db" --resolve "*.test:$WEB_PORT:127.0.0.1" \
    --rate "$RATE" --concurrency 64 --as-of "$day" >"$WORK/crawl.log" 2>&1 &
  CRAWL=$!
  sleep 1
  load "round $r, while crawling at --rate $RATE"
  # A polite crawl of this web takes minutes: stop it (it resumes next time) once measured.
  kill -INT "$CRAWL" 2>/dev/null || true
  wait "$CRAWL" || true
  tail -1 "$WORK/crawl.log"
done
