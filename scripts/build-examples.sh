#!/usr/bin/env bash
# Rebuilds the committed example modules from their sources.
set -euo pipefail
cd "$(dirname "$0")/../examples"
clang-19 --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -o primes.wasm primes.c
echo "examples/primes.wasm: $(wc -c < primes.wasm) bytes"
