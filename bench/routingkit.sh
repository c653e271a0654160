#!/usr/bin/env bash
# Runs muster's customization against RoutingKit's on the same graph, node
# order and threat pictures (see bench/README.md). RoutingKit
# (https://github.com/RoutingKit/RoutingKit, BSD-2-Clause) is not part of
# this repository: give its source tree with -src DIR or ROUTINGKIT_SRC.
# It is copied to a temp dir and built there with make and g++, with the
# driver bench/routingkit/driver/main.cpp; then bench/routingkit runs with
# any other arguments given here (-runs, -passes, -full, -osm, -graph, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

src="${ROUTINGKIT_SRC:-}"
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-src | --src)
		src="$2"
		shift 2
		;;
	*)
		args+=("$1")
		shift
		;;
	esac
done
if [ -z "$src" ] || [ ! -f "$src/include/routingkit/customizable_contraction_hierarchy.h" ]; then
	echo "no RoutingKit sources: pass -src DIR or set ROUTINGKIT_SRC to a checkout of https://github.com/RoutingKit/RoutingKit" >&2
	exit 2
fi
for tool in g++ make; do
	command -v "$tool" >/dev/null || { echo "$tool is needed to build RoutingKit" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/muster-routingkit.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap "exit 130" INT TERM

cp -r "$src" "$dir/rk"
# RoutingKit's own flags (-O3 -march=native -ffast-math, see its Makefile);
# only the library is needed.
echo "building RoutingKit in $dir/rk" >&2
make -C "$dir/rk" -j2 lib/libroutingkit.a >"$dir/make.log" 2>&1 || { tail -20 "$dir/make.log" >&2; exit 1; }
g++ -std=c++17 -O3 -march=native -ffast-math -DNDEBUG -I"$dir/rk/include" \
	bench/routingkit/driver/main.cpp "$dir/rk/lib/libroutingkit.a" -fopenmp -lz -pthread -o "$dir/driver"
echo "RoutingKit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "(not a git checkout)"), $(g++ --version | head -1)" >&2

go build -o "$dir/bench" ./bench/routingkit
"$dir/bench" -driver "$dir/driver" ${args[@]+"${args[@]}"}
