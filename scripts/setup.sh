#!/usr/bin/env bash
# Installs everything vecnet's demo, tests and benchmarks need on a fresh
# Debian machine: the kernel's own tools that act as real peers in the
# integration tests, and the Go modules. Idempotent; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(iproute2 iputils-ping arping iperf3 tshark ethtool bind9-dnsutils)
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
fi
go mod download
echo "setup: done"
