#!/usr/bin/env bash
# latency-trace.sh: where a sockperf round trip through the router goes, per message.
#
#   sudo scripts/latency-trace.sh ./vecnet CONFIG [bench latency flags...]
#
# Runs one unloaded window of "vecnet bench latency -rounds 1 -load 0 -configs CONFIG"
# (CONFIG: kernel, afxdp, afpacket-frames, afxdp-pinned, ...) with tshark on host A's and
# host B's eth0, then prints, for each direction, the one-way transit of every sockperf
# message from the sender's transmit tap to the receiver's receive tap (one clock: the
# hosts are namespaces of this machine), matched by UDP payload: p50/p90/p99/p99.9 in µs.
# BENCHMARKS.md 9d. Needs tshark and python3 (scripts/setup.sh).
set -euo pipefail
bin=${1:?usage: latency-trace.sh VECNET CONFIG [flags]}
cfg=${2:?usage: latency-trace.sh VECNET CONFIG [flags]}
shift 2
dir=$(mktemp -d /tmp/vecnet-latency-trace.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
"$bin" bench latency -rounds 1 -seconds 3 -load 0 -idle 1 -configs "$cfg" "$@" >"$dir/out" 2>"$dir/err" &
bench=$!
# The rig's namespaces are vnl<pid>-host-a and -host-b; capture once both links exist.
deadline=$((SECONDS + 20))
until ip netns exec "vnl$bench-host-a" ip link show eth0 >/dev/null 2>&1 &&
	ip netns exec "vnl$bench-host-b" ip link show eth0 >/dev/null 2>&1; do
	if ((SECONDS > deadline)) || ! kill -0 "$bench" 2>/dev/null; then
		echo "latency-trace: the rig did not come up" >&2
		cat "$dir/err" >&2
		exit 1
	fi
	sleep 0.05
done
for h in a b; do
	ip netns exec "vnl$bench-host-$h" tshark -q -i eth0 -f "udp port 11111" -w "$dir/$h.pcap" 2>/dev/null &
	pids+=($!)
done
wait "$bench"
for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
grep -E "^\| $cfg " "$dir/out" || cat "$dir/err" >&2
grep "worker:" "$dir/err" || true
python3 - "$dir/a.pcap" "$dir/b.pcap" <<'PY'
import subprocess, sys

def read(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.time_epoch",
                          "-e", "ip.src", "-e", "udp.payload", "-e", "data.data"],
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) >= 3:
            rows.append((float(f[0]), f[1], f[2] or (f[3] if len(f) > 3 else "")))
    return rows

def transit(src, dst, ip):
    seen = {}
    for t, s, payload in dst:
        if s == ip:
            seen.setdefault(payload, t)
    return sorted((seen[p] - t) * 1e6 for t, s, p in src if s == ip and p in seen)

a, b = read(sys.argv[1]), read(sys.argv[2])
for name, src, dst, ip in (("A->B (request)", a, b, "10.77.1.2"), ("B->A (reply)", b, a, "10.77.2.2")):
    d = transit(src, dst, ip)
    if not d:
        print(f"  {name}: no messages matched (capture started late?)")
        continue
    q = lambda x: d[min(len(d) - 1, int(x * len(d)))]
    print(f"  {name}: n={len(d)} p50 {q(.5):.1f} p90 {q(.9):.1f} p99 {q(.99):.1f} p99.9 {q(.999):.1f} µs")
PY
