#!/usr/bin/env bash
# The crowd benchmark: 1,000 connections for 30 s against a release build of the hub serving the
# demo store, on loopback, with wrk. Not part of CI (it needs a release build, ~25 min clean).
#
#   hub/benches/crowd/run.sh            # builds what it needs; results in target/crowd/results.txt
#
# For each target it reports requests/s, p50/p99, answers by status (503s apart from other errors;
# socket errors and timeouts as wrk counts them), the hub's peak RSS during the run, and /healthz
# p99 measured by a one-connection wrk beside the crowd. Cached /indicators is then compared with
# nginx serving the same bytes from a file.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
out=target/crowd
mkdir -p "$out"
connections=${CONNECTIONS:-1000}
duration=${DURATION:-30s}
port=${PORT:-18080}
nginx_port=$((port + 1))
base="http://127.0.0.1:$port"

need() { command -v "$1" >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx
ulimit -n 65536

cargo build --release --bin welfare-hub
hub=target/release/welfare-hub
db="$out/demo.db"
if [ ! -f "$db" ]; then
  "$hub" demo --no-serve --database-url "sqlite://$root/$db" --last-period 2026-10
fi

"$hub" serve --bind "127.0.0.1:$port" --database-url "sqlite://$root/$db" >"$out/hub.log" 2>&1 &
hub_pid=$!
trap 'kill $hub_pid 2>/dev/null || true; [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid")" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$base/readyz" >/dev/null

# Districts of the country, for maps of a different area on every request (uncached).
curl -fs "$base/api/v1/areas?level=district" \
  | python3 -c 'import json,sys; [print(f"/api/v1/maps/subdistrict.geojson?within={a["code"]}&zoom=9") for a in json.load(sys.stdin)["areas"]]' \
  >"$out/district-maps.txt"

peak_rss() { # pid file -> samples RSS (kB) every 100 ms until the file is removed
  local pid=$1 flag=$2 peak=0
  while [ -f "$flag" ]; do
    r=$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ' || echo 0)
    [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.1
  done
  echo "$peak"
}

run() { # name url paths-file accept-encoding
  local name=$1 url=$2 paths=$3 coding=$4
  local flag="$out/$name.running"
  touch "$flag"
  peak_rss "$hub_pid" "$flag" >"$out/$name.rss" &
  local sampler=$!
  wrk -t1 -c1 -d"$duration" --latency -s hub/benches/crowd/statuses.lua "$base/healthz" >"$out/$name.healthz" 2>&1 &
  local probe=$!
  CROWD_PATHS="$paths" wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency \
    -H "Accept-Encoding: $coding" -s hub/benches/crowd/statuses.lua "$url" >"$out/$name.wrk" 2>&1
  wait "$probe"
  rm -f "$flag"
  wait "$sampler"
  printf '%-28s %10s req/s  p50 %8s ms  p99 %8s ms  %s  %s  peak RSS %s MB  /healthz p99 %s ms\n' \
    "$name" \
    "$(awk '/Requests\/sec/ {print $2}' "$out/$name.wrk")" \
    "$(awk '/^p50_ms/ {print $2}' "$out/$name.wrk")" \
    "$(awk '/^p99_ms/ {print $2}' "$out/$name.wrk")" \
    "$(grep '^statuses:' "$out/$name.wrk")" \
    "$(grep -E 'Socket errors|Non-2xx' "$out/$name.wrk" | tr '\n' ' ')" \
    "$(( $(cat "$out/$name.rss") / 1024 ))" \
    "$(awk '/^p99_ms/ {print $2}' "$out/$name.healthz")"
}

{
  echo "# crowd benchmark: $connections connections x $duration, $(nproc) cores, $(date -u +%F)"
  # Warm the cached answers once (the first computation is not what a crowd sees).
  curl -fs -o /dev/null "$base/api/v1/indicators?level=province"
  curl -fs -o /dev/null -H 'Accept-Encoding: gzip, br' "$base/api/v1/maps/province.geojson"
  # /indicators as it is (identity), to compare with nginx serving the same bytes; maps as a browser
  # asks for them (compressed).
  run indicators-province "$base/api/v1/indicators?level=province" "" identity
  run province-map-cached "$base/api/v1/maps/province.geojson" "" "gzip, br"
  run subdistrict-maps-uncached "$base/" "$root/$out/district-maps.txt" "gzip, br"

  # nginx serving the same bytes as cached /indicators, uncompressed both.
  mkdir -p "$out/nginx/html"
  curl -fs "$base/api/v1/indicators?level=province" >"$out/nginx/html/indicators.json"
  cat >"$out/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $root/$out/nginx.pid;
error_log $root/$out/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    root $root/$out/nginx/html;
    location / { default_type application/json; }
  }
}
CONF
  nginx -c "$root/$out/nginx/nginx.conf" -p "$root/$out/nginx"
  sleep 1
  wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency -s hub/benches/crowd/statuses.lua \
    "http://127.0.0.1:$nginx_port/indicators.json" >"$out/nginx.wrk" 2>&1
  printf '%-28s %10s req/s  p50 %8s ms  p99 %8s ms  %s\n' nginx-same-bytes \
    "$(awk '/Requests\/sec/ {print $2}' "$out/nginx.wrk")" \
    "$(awk '/^p50_ms/ {print $2}' "$out/nginx.wrk")" \
    "$(awk '/^p99_ms/ {print $2}' "$out/nginx.wrk")" \
    "$(grep '^statuses:' "$out/nginx.wrk")"
} | tee "$out/results.txt"
