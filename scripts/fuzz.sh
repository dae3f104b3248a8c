#!/usr/bin/env bash
# fuzz.sh TIME: runs every fuzz target of the module (func FuzzXxx in a
# _test.go file) for TIME each (a duration, 2m, or a count of inputs,
# 4000x), one after another. A failure stops the run and leaves the failing
# input in the package's testdata/fuzz/FuzzXxx/, where it becomes a
# committed seed once the bug is fixed.
#
# A run that fails without writing an input is Go 1.26's fuzzing
# coordinator failing at its own deadline (golang/go#75804, fixed in Go
# 1.27), not a finding: it is run once more, and only a second such
# failure fails.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-5s}
grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz' . | sort | while read -r file; do
	pkg=$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz: $pkg $target for $time" >&2
		corpus="$pkg/testdata/fuzz/$target"
		before=$(ls "$corpus" 2>/dev/null | wc -l)
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg"; then
			after=$(ls "$corpus" 2>/dev/null | wc -l)
			[ "$after" = "$before" ] || exit 1
			echo "fuzz: $target failed with no input written (golang/go#75804): once more" >&2
			go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg"
		fi
	done
done
