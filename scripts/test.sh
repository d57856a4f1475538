#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the command-line tools the end-to-end tests
# run, then the whole workspace's tests (the spec suite included) in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --bins
# The C API library the C tests link (tests/tests/capi.rs), and its debug build, which they
# run under valgrind.
cargo build --release --quiet -p waot-capi
cargo build --quiet -p waot-capi
cargo test --release --workspace --no-fail-fast
