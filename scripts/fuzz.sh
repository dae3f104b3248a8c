#!/usr/bin/env bash
# fuzz.sh TIME: runs every fuzz target of the module (func FuzzXxx in a
# _test.go file) for TIME each, one after another. A failure stops the run
# and leaves the failing input in the package's testdata/fuzz/FuzzXxx/,
# where it becomes a committed seed once the bug is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-5s}
grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz' . | sort | while read -r file; do
	pkg=$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz: $pkg $target for $time" >&2
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg"
	done
done
