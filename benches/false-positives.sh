#!/usr/bin/env bash
# Reproduces the README's false-positive figure: the bundled emulator (correct) under the
# reference readings, under each of its other legal readings (`emulate --list-readings`) and
# under `--reading all`, CASES generated sequences per seed, SEEDS seeds each, no scenario files.
# Every run must pass (exit 0); a divergence here is a false alarm of the model or checker.
#
#   CASES=1000 SEEDS=1 benches/false-positives.sh      # prints one line per reading, then a total
#
# Scope: it measures the harness against implementations of the documents written in this
# repository (the emulator and its readings), not against every possible endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${CASES:-1000}
SEEDS=${SEEDS:-1}
cargo build --release -q
bin=target/release/opsworkscm-conformance
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
readings="reference $("$bin" emulate --list-readings | awk '{print $1}') all"
total=0
failed=0
for r in $readings; do
  flag=()
  [ "$r" != reference ] && flag=(--reading "$r")
  for seed in $(seq 1 "$SEEDS"); do
    code=0
    "$bin" run "${flag[@]}" --cases "$CASES" --seed "$seed" --scenarios /nonexistent \
      --no-save-regressions --report-dir "$out/$r-$seed" >/dev/null 2>&1 || code=$?
    total=$((total + CASES))
    if [ "$code" -ne 0 ]; then
      failed=$((failed + 1))
      echo "$r seed $seed: exit $code (see $out/$r-$seed/report.json)"
      cp -r "$out/$r-$seed" "/tmp/false-positive-$r-$seed"
    fi
  done
  echo "$r: $((CASES * SEEDS)) sequences"
done
echo "commit $(git rev-parse --short HEAD): $total sequences, $failed failing runs"
[ "$failed" -eq 0 ]
