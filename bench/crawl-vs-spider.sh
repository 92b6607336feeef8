#!/usr/bin/env bash
# linkdiff (fetch + extract + index into SQLite) and spider-rs (fetch + link extraction,
# nothing indexed) crawling one loopback test web in the same run: 50 hosts × 100 pages of
# 16 KB, rate unlimited, robots.txt respected by both. Rounds alternate the two crawlers so
# the VM's drift hits both. Prints pages/s and pages per CPU-second (user + sys of the crawler
# process; the web server is a third process, measured by neither).
#
#   bash bench/crawl-vs-spider.sh            # ROUNDS=3 PORT=18089 HOSTS=50 PAGES=100
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18089}
HOSTS=${HOSTS:-50}
PAGES=${PAGES:-100}
SPIDER_TARGET=${SPIDER_TARGET:-$PWD/target/spider-bench}

[ -n "${LD:-}" ] || cargo build --release --quiet -p linkdiff
(cd bench/spider && CARGO_TARGET_DIR="$SPIDER_TARGET" cargo build --release --quiet)
LD=${LD:-$PWD/target/release/linkdiff} # LD=PATH: another build, for A/B runs
SP=$SPIDER_TARGET/release/spider-bench

TMP=$(mktemp -d)
"$LD" testweb --port "$PORT" --hosts "$HOSTS" --pages "$PAGES" --filler 16000 \
  --seeds-file "$TMP/seeds.txt" >"$TMP/web.log" 2>&1 &
WEB=$!
trap 'kill $WEB 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/seeds.txt" ] && break; sleep 0.1; done

# Prints "pages wall user sys maxrss_kb" for one timed command whose output holds the pages.
timed() {
  local out
  out=$( { /usr/bin/time -f 'TIME %e %U %S %M' "$@" 2>&1; } )
  local pages
  pages=$(grep -oE '(fetched )?[0-9]+ pages' <<<"$out" | head -1 | grep -oE '[0-9]+')
  echo "$pages $(grep '^TIME' <<<"$out" | cut -d' ' -f2-)"
}

report() {
  awk -v who="$1" '{ printf "%-8s %6d pages  %6.2f s  %7.0f pages/s  %6.2f CPU-s  %7.0f pages/CPU-s  %5.0f MB\n",
      who, $1, $2, $1/$2, $3+$4, $1/($3+$4), $5/1024 }' <<<"$2"
}

for r in $(seq "$ROUNDS"); do
  report linkdiff "$(timed "$LD" crawl "$TMP/seeds.txt" --db "$TMP/ld$r.db" \
    --resolve "*.test:$PORT:127.0.0.1" --rate 0 --concurrency 64 --progress off)"
  report spider "$(timed "$SP" "$TMP/seeds.txt" "http://127.0.0.1:$PORT")"
done
