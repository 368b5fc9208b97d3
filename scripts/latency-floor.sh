#!/bin/bash
# latency-floor.sh: the round trip with no router at all — sockperf ping-pong
# (64-byte UDP, as `vecnet bench latency` runs it) between two namespaces joined
# by one veth pair (offloads off, as the latency rig's peers), unloaded and
# beside an iperf3 -u stream at the same rate. Any router between the two adds
# to this, so its p99 is a floor for the rig's kernel and vecnet rows alike.
#   sudo scripts/latency-floor.sh [rounds] [seconds] [load Mbit/s]
set -euo pipefail
ROUNDS=${1:-3}; SECS=${2:-5}; LOAD=${3:-200}
A=lfloor-a-$$; B=lfloor-b-$$
cleanup() {
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null || true
	[ -n "${IPS:-}" ] && kill "$IPS" 2>/dev/null || true
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
for t in sockperf iperf3 ethtool; do command -v $t >/dev/null || { echo "latency-floor: needs $t (scripts/setup.sh)" >&2; exit 1; }; done
ip netns add "$A"; ip netns add "$B"
ip link add lf-a netns "$A" type veth peer name lf-b netns "$B"
ip -n "$A" addr add 10.78.0.1/24 dev lf-a; ip -n "$B" addr add 10.78.0.2/24 dev lf-b
for n in "$A:lf-a" "$B:lf-b"; do
	ip netns exec "${n%%:*}" ethtool -K "${n##*:}" tx off tso off gso off gro off >/dev/null 2>&1 || true
	ip -n "${n%%:*}" link set "${n##*:}" up; ip -n "${n%%:*}" link set lo up
done
ip netns exec "$B" sockperf server -i 10.78.0.2 -p 11111 >/dev/null 2>&1 & SRV=$!
ip netns exec "$B" iperf3 -s >/dev/null 2>&1 & IPS=$!
# The servers are up when a ping-pong of one second gets answers (poll, no fixed sleep).
for _ in $(seq 50); do
	ip netns exec "$A" sockperf ping-pong -i 10.78.0.2 -p 11111 -m 64 -t 1 >/dev/null 2>&1 && break
done
pp() { ip netns exec "$A" sockperf ping-pong -i 10.78.0.2 -p 11111 -m 64 -t "$SECS" --full-rtt 2>&1 |
	sed 's/\x1b\[[0-9;]*m//g' | awk '/percentile 50.000/{p50=$NF} /percentile 99.000/{p99=$NF} /percentile 99.900/{p999=$NF} END{printf "p50 %s p99 %s p99.9 %s µs\n", p50, p99, p999}'; }
for r in $(seq "$ROUNDS"); do
	echo "round $r direct unloaded: $(pp)"
	ip netns exec "$A" iperf3 -c 10.78.0.2 -u -b "${LOAD}M" -t $((SECS + 30)) >/dev/null 2>&1 & LD=$!
	for _ in $(seq 100); do [ "$(ip netns exec "$B" cat /sys/class/net/lf-b/statistics/rx_packets)" -gt 1000 ] && break; ip netns exec "$B" true; done
	echo "round $r direct loaded ($LOAD Mbit/s): $(pp)"
	kill "$LD" 2>/dev/null || true; wait "$LD" 2>/dev/null || true
done
