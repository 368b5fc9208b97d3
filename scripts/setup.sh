#!/usr/bin/env bash
# Installs everything vecnet's demo and tests need on a fresh Debian machine:
# the kernel's own tools that act as real peers in the integration tests, and
# the Go modules. With --bench it also installs what the benchmarks drive
# (Knot DNS and its kxdpgun load generator, dnsperf, trafgen, wrk, nginx).
# Idempotent; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(iproute2 iputils-ping arping iperf3 tshark ethtool bind9-dnsutils procps curl python3 traceroute util-linux jq ndisc6 iputils-tracepath bird2)
pkgs+=(wrk apache2-utils hping3 socat) # the TCP interop tests' load generators, SYN flood and kernel peer
pkgs+=(nmap)                           # the ACL test scans through the router
pkgs+=(nftables)                       # bench services: the kernel's ACL, conntrack and masquerade; its CI test checks the ruleset (nft -c)
pkgs+=(sockperf)                       # vecnet bench latency and its test: UDP ping-pong round trips through the router
pkgs+=(dpdk dpdk-dev librte-net-memif23) # dpdk-testpmd (in dpdk-dev) and its net_memif PMD: the memif interop tests' real peer
pkgs+=(prometheus chromium) # the /metrics scrape test's server and promtool; the web page's headless browser
pkgs+=(systemd) # systemd-analyze: the test that verifies scripts/vecnet.service
if [ "${1:-}" = "--bench" ]; then
	pkgs+=(knot knot-dnsutils dnsperf netsniff-ng wrk nginx-light)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer no, quietly.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Knot's package starts knotd as a service; the benchmarks run their own.
	if printf '%s\n' "${missing[@]}" | grep -qx knot; then
		(systemctl disable --now knot 2>/dev/null || service knot stop 2>/dev/null || true) >/dev/null
	fi
	# So does Prometheus's (on :9090); the metrics test starts its own.
	if printf '%s\n' "${missing[@]}" | grep -qx prometheus; then
		(systemctl disable --now prometheus 2>/dev/null || service prometheus stop 2>/dev/null || true) >/dev/null
	fi
fi
go mod download
echo "setup: done"
