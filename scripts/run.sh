#!/usr/bin/env bash
# Somnia's main job on a fresh Debian/Ubuntu machine: installs what it needs, builds a release
# binary and runs it. With no arguments it renders the shipped performance `First Light`
# offline into out/first-light/ (WAV, PNG frames, MP4), which needs no screen or sound card.
# Any arguments are passed to somnia instead, e.g.  scripts/run.sh play performances/first-light.toml
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/ensure-rust.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --locked --release
if [ $# -eq 0 ]; then
  set -- render performances/first-light.toml --out out/first-light
fi
exec ./target/release/somnia "$@"
