#!/usr/bin/env bash
# Cheap requests while heavy ones run: `serve --heavy-queries N` on the 1M-link index of
# `linkdiff bench index --db DB`; 4 clients loop whole-TLD anchors queries while
# `bench http` sends cheap exact-page backlinks requests for 10 s.
#
#   bash bench/heavy-queries.sh DB N        # e.g. /tmp/b1m.db 1, then 64
set -euo pipefail
cd "$(dirname "$0")/.."
DB=$1
N=$2
PORT=${PORT:-18097}
B=$PWD/target/release/linkdiff
"$B" serve --db "$DB" --listen "127.0.0.1:$PORT" --heavy-queries "$N" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 1
END=$(($(date +%s) + 13))
for i in 1 2 3 4; do
  (n=0
   while [ "$(date +%s)" -lt "$END" ]; do
     curl -s -m 60 "127.0.0.1:$PORT/?from=anchors&target=bench&mode=subdomains&limit=10&output=json" >/dev/null
     n=$((n + 1))
   done
   echo "heavy client $i: $n queries") &
done
sleep 1
"$B" bench http --addr "127.0.0.1:$PORT" --connections 4 --seconds 10 \
  --path '/?from=backlinks&target=https://www.big.bench/page1&mode=exact&limit=10&output=json'
wait
