#!/usr/bin/env bash
# Load test of muster serve on loopback, on the embedded SQLite store and on
# PostgreSQL: 200 concurrent clients, 10 s per load (hello, registrations,
# household reads). Installs PostgreSQL from Debian if missing (needs root),
# runs a throwaway cluster, and cleans everything up on exit.
#   bench/loadtest.sh [-clients N] [-duration 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/muster-loadtest.XXXXXX)
chmod 755 "$work" # the postgres user must reach its cluster inside
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${pgbin:-}" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/muster" ./cmd/muster
go build -o "$work/loadtest" ./bench/loadtest
export LOADTEST_PASSWORD="loadtest $(head -c 18 /dev/urandom | base64)"

# free_port FROM: the first port from FROM on that nothing listens on
# (another server on this machine, a test cluster, takes fixed ones).
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 100))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port in $1-$(($1 + 100))" >&2
  return 1
}

serve_and_load() { # label port store-flags...
  local label=$1 port=$2; shift 2
  printf '%s\n' "$LOADTEST_PASSWORD" | "$work/muster" user add loadtest --role planner --password-stdin "$@" >/dev/null 2>&1
  "$work/muster" serve --addr "127.0.0.1:$port" --rate-ip -1 --rate-account -1 --max-conns-per-ip 1000 "$@" 2>"$work/$label.log" &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  "$work/loadtest" -url "http://127.0.0.1:$port" -label "$label" "${LOADARGS[@]}"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}
LOADARGS=("$@")

serve_and_load sqlite "$(free_port 18181)" --data "$work/sqlite"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
mkdir -p "$work/pg" && chown postgres: "$work/pg"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust >/dev/null
# Another cluster may take the port between the check and the start:
# the next one then.
pgport=""
for _ in 1 2 3; do
  p=$(free_port "${pgport:-55800}")
  if runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-c listen_addresses=127.0.0.1 -p $p -k $work/pg -c max_connections=300" start >/dev/null; then
    pgport=$p
    break
  fi
  pgport=$((p + 1))
done
[ -n "$pgport" ] && [ -e "$work/pg/.s.PGSQL.$pgport" ] || { echo "PostgreSQL did not start:"; cat "$work/pg/log"; exit 1; }
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U postgres -c "CREATE ROLE muster LOGIN PASSWORD 'muster'" -c "CREATE DATABASE muster OWNER muster"
MUSTER_MASTER_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') \
  serve_and_load postgres "$(free_port 18182)" --db "postgres://muster:muster@127.0.0.1:$pgport/muster?sslmode=disable" --data "$work/unused"
