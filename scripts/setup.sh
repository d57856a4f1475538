#!/usr/bin/env bash
# Installs what waot needs on a fresh Debian 12 machine. Idempotent; silent when all is there.
set -euo pipefail

packages=(llvm-19-dev libpolly-19-dev libzstd-dev lld-19 clang-19 wasi-libc libclang-rt-19-dev-wasm32 wabt valgrind strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
