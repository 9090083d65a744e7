#!/usr/bin/env bash
# Makes sure a Rust toolchain new enough for edition 2024 (1.85+) is on PATH.
# Uses the one already installed; otherwise installs rustup's stable toolchain for this user.
set -euo pipefail
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if command -v cargo >/dev/null 2>&1; then
  v=$(rustc --version | awk '{print $2}')
  if [ "$(printf '%s\n1.85.0\n' "$v" | sort -V | head -1)" = "1.85.0" ]; then exit 0; fi
  echo "rustc $v is older than 1.85 (edition 2024 needs 1.85+)" >&2
  command -v rustup >/dev/null && { rustup update stable; exit 0; }
fi
echo "installing Rust with rustup (https://rustup.rs) ..."
command -v curl >/dev/null || { echo "error: curl is needed to install Rust; apt-get install curl" >&2; exit 1; }
curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
