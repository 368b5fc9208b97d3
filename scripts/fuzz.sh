#!/usr/bin/env bash
# Runs every go test -fuzz target of the module for a while each (default
# 20 s; FUZZTIME=2m bash scripts/fuzz.sh for longer). The seed corpora alone
# run in every `go test` (scripts/test.sh); this explores beyond them.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-20s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $f ($t)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
	done
done
