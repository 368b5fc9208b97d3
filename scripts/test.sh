#!/usr/bin/env bash
# The test command: installs what the tests need, checks formatting and vet,
# then runs every test (unit, golden, fuzz seed corpora, zero-allocation,
# leak gates, and the namespace integration tests, which need root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -count=1 -timeout 20m "$@" ./...
