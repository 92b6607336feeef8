#!/usr/bin/env bash
# A recrawl of an unchanged web served by nginx (issue 24's held-out check): the test web
# (50 hosts × 400 pages of 16 KB) is mirrored into static files, nginx serves them with its
# own ETag / Last-Modified and 304s, and linkdiff crawls it twice into one new index: the
# first crawl, then ROUNDS recrawls with nothing changed. Prints wall, CPU (user + sys of the
# crawler) and peak RSS of each, and the recrawls' 304 counts. Needs nginx on the PATH
# (Debian: nginx-light).
#
#   bash bench/recrawl-nginx.sh            # PORT=18391 HOSTS=50 PAGES=400 ROUNDS=2
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18391}
HOSTS=${HOSTS:-50}
PAGES=${PAGES:-400}
ROUNDS=${ROUNDS:-2}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

[ -n "${LD:-}" ] || cargo build --release --quiet -p linkdiff
LD=${LD:-$PWD/target/release/linkdiff} # LD=PATH: another build, for A/B runs
TMP=$(mktemp -d)
chmod 755 "$TMP" # nginx workers run as another user
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

# 1. The test web, crawled once to list its pages, mirrored page by page.
"$LD" testweb --port "$PORT" --hosts "$HOSTS" --pages "$PAGES" --filler 16000 \
  --seeds-file "$TMP/seeds.txt" >"$TMP/web.log" 2>&1 &
WEB=$!
PIDS+=("$WEB")
for _ in $(seq 50); do [ -s "$TMP/seeds.txt" ] && break; sleep 0.1; done
"$LD" crawl "$TMP/seeds.txt" --db "$TMP/list.db" --resolve "*.test:$PORT:127.0.0.1" \
  --rate 0 --concurrency 64 --progress off >/dev/null
python3 - "$TMP" "$PORT" <<'EOF'
import os, sqlite3, sys, urllib.request, urllib.parse, concurrent.futures
tmp, port = sys.argv[1], sys.argv[2]
urls = [r[0] for r in sqlite3.connect(f"{tmp}/list.db").execute(
    "SELECT url FROM pages WHERE first_visit IS NOT NULL")]
urls += sorted({u.split('/')[0] + '//' + u.split('/')[2] + '/robots.txt' for u in urls})
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
opener = urllib.request.build_opener(NoRedirect)
def get(u):
    p = urllib.parse.urlsplit(u)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{p.path}", headers={"Host": p.netloc})
    try:
        body = opener.open(req, timeout=10).read()
    except Exception:
        return 0
    path = p.path + ("index.html" if p.path.endswith("/") else "")
    out = f"{tmp}/www/{p.hostname}{path}"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    open(out, "wb").write(body)
    return 1
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    print(f"mirrored {sum(ex.map(get, urls))} of {len(urls)} URLs (redirects and errors are not files)")
EOF
kill "$WEB"; wait "$WEB" 2>/dev/null || true

# 2. nginx on the same port, one root per host name.
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
  uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  types { text/html html; text/plain txt; }
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$PORT;
    server_name _;
    root $TMP/www/\$host;
    index index.html;
  }
}
EOF
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
PIDS+=("$!")
sleep 0.5

# 3. The first crawl, then the recrawls, into one index.
crawl() {
  local out
  out=$( { /usr/bin/time -f 'TIME %e %U %S %M' "$LD" crawl "$TMP/seeds.txt" --db "$TMP/ld.db" \
    --resolve "*.test:$PORT:127.0.0.1" --rate 0 --concurrency 64 --progress off \
    --as-of "2026-05-0$1" 2>&1; } )
  local t
  t=$(grep '^TIME' <<<"$out")
  awk -v who="$2" '{ printf "%-9s %6.2f s wall  %6.2f CPU-s  %5.0f MB", who, $2, $3+$4, $5/1024 }' <<<"$t"
  echo "  $(grep -oE 'fetched [0-9]+ pages|[0-9]+ errors[^.]*|Unchanged: [^.]*' <<<"$out" | paste -sd' ')"
}
[ -z "${KEEP:-}" ] || echo "files in $TMP"
crawl 1 first
for r in $(seq "$ROUNDS"); do crawl $((r + 1)) recrawl; done
