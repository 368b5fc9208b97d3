#!/usr/bin/env bash
# The main job: installs what it needs, builds vecnet, and runs its demo —
# namespaces host-a ↔ vecnet ↔ host-b, ping and iperf3 through vecnet on
# AF_XDP, the router's counters — then removes everything (also on Ctrl-C).
# Needs root. Extra arguments go to `vecnet demo` (e.g. -driver afpacket).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
go build -o out/vecnet ./cmd/vecnet
go build -o out/vecnetctl ./cmd/vecnetctl
exec ./out/vecnet demo "$@"
