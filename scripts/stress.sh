#!/usr/bin/env bash
# Runs the whole test suite ROUNDS times (default 6), with a CPU hog on every
# odd round, to shake out tests that depend on timing. Each round's output is
# in out/stress.N.log; one summary line per round on stdout.
#   sudo bash scripts/stress.sh [ROUNDS]
set -u
cd "$(dirname "$0")/.."
rounds=${1:-6}
mkdir -p out
fails=0
for i in $(seq 1 "$rounds"); do
  hog=""
  if (( i % 2 == 1 )); then
    timeout 1800 bash -c 'while :; do :; done' &
    hog=$!
  fi
  CI=true go test -count=1 -timeout 10m ./... > "out/stress.$i.log" 2>&1
  rc=$?
  [ -n "$hog" ] && kill "$hog" 2>/dev/null
  [ "$rc" = 0 ] || fails=$((fails + 1))
  echo "round $i hog=${hog:+yes} rc=$rc $(grep -c '^ok' "out/stress.$i.log") packages ok; failed: $(grep -E '^(--- FAIL|FAIL)' "out/stress.$i.log" | tr '\n' ' ')"
done
echo "$fails of $rounds rounds failed"
[ "$fails" = 0 ]
