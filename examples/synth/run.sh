#!/usr/bin/env bash
# The real-time host example: builds the synthesizer for wasm (then waotc) and natively into
# the host, runs the host, then runs it again under strace and counts the system calls made
# between the render loop's two getppid() marks (there must be none). With WAOT_NO_BUILD=1
# (the tests) it uses the tools and library already built in target/release.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -n "${WAOT_NO_BUILD:-}" ] || scripts/build-capi >/dev/null
out=${WAOT_SYNTH_OUT:-target/synth}
mkdir -p "$out"
clang-19 --target=wasm32-wasi -O2 -ffp-contract=off -nostdlib -Wl,--no-entry \
  examples/synth/synth.c -o "$out/synth.wasm"
target/release/waotc -q "$out/synth.wasm" "$out/synth.so"
lib="$(pwd)/target/release"
clang-19 -O2 -ffp-contract=off -DSYNTH_NATIVE -I loader/capi/include \
  examples/synth/host.c examples/synth/synth.c \
  -L "$lib" -Wl,-rpath,"$lib" -lwaot_c -lpthread -ldl -lm -o "$out/host"
"$out/host" "$out/synth.so"
if command -v strace >/dev/null; then
  strace -f -o "$out/strace.log" "$out/host" "$out/synth.so" >/dev/null
  calls=$(awk '/getppid\(/ { inside = !inside; next } inside { n++ } END { print n + 0 }' "$out/strace.log")
  echo "system calls during the render loop: $calls"
  [ "$calls" -eq 0 ]
else
  echo "system calls during the render loop: not counted (strace is not installed)"
fi
