#!/usr/bin/env bash
# Runs muster against pgRouting on the same graph and the same queries (see
# bench/README.md). Installs PostgreSQL 15 with PostGIS 3 and pgRouting from
# Debian's packages if they are missing, starts a throwaway cluster in a temp
# dir listening on a free loopback port only, creates the extensions, runs
# bench/pgrouting with any arguments given here (-n, -seed, -graph, -osm, ...),
# and stops and removes the cluster on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=/usr/lib/postgresql/15/bin
EXT=/usr/share/postgresql/15/extension
missing=()
[ -x "$PGBIN/initdb" ] || missing+=(postgresql-15)
[ -f "$EXT/postgis.control" ] || missing+=(postgresql-15-postgis-3)
[ -f "$EXT/pgrouting.control" ] || missing+=(postgresql-15-pgrouting)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]}" >&2
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# PostgreSQL refuses to run as root: run the cluster as postgres when root.
as_pg=()
if [ "$(id -u)" = 0 ]; then
	as_pg=(runuser -u postgres --)
fi

dir=$(mktemp -d /tmp/muster-pgrouting.XXXXXX)
chmod 755 "$dir"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$dir"
cleanup() {
	"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap "exit 130" INT TERM

port=""
for p in $(seq 54320 54420); do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "no free loopback port in 54320-54420" >&2; exit 1; }

"${as_pg[@]}" "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }
# Loopback only, socket in the temp dir; durability is not needed here.
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off" start >/dev/null ||
	{ cat "$dir/server.log" >&2; exit 1; }

psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE muster_bench"
"${psql[@]}" -d muster_bench -c "CREATE EXTENSION postgis; CREATE EXTENSION pgrouting"

go build -o "$dir/pgrouting-bench" ./bench/pgrouting
"$dir/pgrouting-bench" -db "postgres://postgres@127.0.0.1:$port/muster_bench?sslmode=disable" "$@"
