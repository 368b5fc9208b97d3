#!/usr/bin/env bash
# The soak, for minutes (not in CI; CI runs the same test for about 30 s in
# every go test of ./daemon): vecnet forwards between namespaces on AF_XDP
# while host B churns its addresses and ARP cache, routes are added and
# removed by the hundred and a vecnet UDP socket is opened, used and closed
# per round. It fails if the heap grows, buffers stay in use after the
# traffic stops, or the neighbour table or its FIB adjacencies outgrow the
# addresses there are. Output in out/soak.log.
#   sudo bash scripts/soak.sh [DURATION]     (Ns, Nm or Nh; default 10m)
set -u
cd "$(dirname "$0")/.."
dur=${1:-10m}
mkdir -p out
case "$dur" in
  *h) secs=$(( ${dur%h} * 3600 )) ;;
  *m) secs=$(( ${dur%m} * 60 )) ;;
  *s) secs=${dur%s} ;;
  *) echo "usage: soak.sh [DURATION: Ns, Nm or Nh]" >&2; exit 2 ;;
esac
CI=true VECNET_SOAK="$dur" go test -count=1 -timeout "$((secs + 300))s" -run '^TestSoak$' -v ./daemon/ 2>&1 | tee out/soak.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|soak_netns_test'
rc=${PIPESTATUS[0]}
echo "soak $dur: rc=$rc (log: out/soak.log)"
exit "$rc"
