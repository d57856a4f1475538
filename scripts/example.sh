#!/usr/bin/env bash
# The main job on the bundled example: compile examples/primes.wasm ahead of time to a shared
# object with waotc, then run three of its exports with wrun.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --bins
mkdir -p target/examples
so=target/examples/primes.so
target/release/waotc -O2 examples/primes.wasm "$so"
echo "compiled examples/primes.wasm -> $so ($(wc -c < "$so") bytes)"
for call in "count_primes 2000000" "fib 30" "isqrt 1000000000000"; do
  # shellcheck disable=SC2086
  echo "$call = $(target/release/wrun "$so" --invoke $call)"
done
