#!/usr/bin/env bash
# A private Python environment with python-osc, the OSC peer the live tests drive Somnia with,
# and websockets, the phone the audience page's tests join with (Debian has neither at these
# versions). Idempotent; prints the interpreter's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/pyosc"
if ! "$venv/bin/python" -c "import pythonosc, websockets.sync.client" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "python-osc==1.10.2" "websockets==15.0.1" >&2
fi
echo "$venv/bin/python"
