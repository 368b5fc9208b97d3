#!/usr/bin/env bash
# callgrind.sh PKG BENCH FUNC OPS [PER]: instructions FUNC executes (inclusive)
# per unit when benchmark BENCH of package PKG runs for OPS iterations; PER
# (default 1) is how many units one iteration handles (256 for a vector).
# Deterministic: valgrind counts instructions, not time.
# Example: scripts/callgrind.sh ./service/acl 'Lookup/vector/rules=1000$' LookupVector 400 256
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=$1 bench=$2 fn=$3 ops=$4 per=${5:-1}
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/t.test" "$pkg"
# Go's asynchronous preemption signals trip callgrind; one P keeps it simple.
# valgrind 3.19 does not know RDTSCP, which the runtime's lock profiling
# executes now and then (runtime.cputicks): such a run dies of SIGILL and is
# retried; a run that finishes counts the same instructions as any other.
for try in 1 2 3 4 5 6; do
	if GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
		"$tmp/t.test" -test.run '^$' -test.bench "$bench" -test.benchtime "${ops}x" >/dev/null 2>"$tmp/err"; then
		break
	fi
	[ "$try" = 6 ] && { tail -20 "$tmp/err" >&2; exit 1; }
done
line=$(callgrind_annotate --inclusive=yes "$tmp/cg" | grep -m1 "[.)]$fn \[" || true)
[ -n "$line" ] || { echo "no function $fn in the profile" >&2; exit 1; }
ir=$(echo "$line" | awk '{gsub(",", "", $1); print $1}')
awk -v ir="$ir" -v n="$ops" -v per="$per" -v fn="$fn" 'BEGIN { printf "%s: %.0f instructions per unit (%d in %d x %d)\n", fn, ir/(n*per), ir, n, per }'
