#!/usr/bin/env bash
# Somnia's whole test suite on a fresh Debian/Ubuntu machine: installs what it needs, starts a
# virtual display and a PulseAudio null sink (scripts/test-env.sh), runs format and lint checks
# and every test, then stops what it started. Exit status is the suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/ensure-rust.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

source scripts/test-env.sh
test_env_start
trap test_env_stop EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
cargo test --locked
