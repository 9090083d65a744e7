#!/usr/bin/env bash
# A private Python environment with python-osc, the OSC peer the live tests drive Somnia with,
# websockets, the phone the audience page's tests join with, zeroconf, the mDNS browser that
# looks for OSCQuery's announcement, and JACK-Client, the JACK MIDI peer that sends the show
# timecode, and LinkPython-extern, Ableton's Link library for Python, the Link peer (Debian has
# none of them at these versions). Idempotent; prints the interpreter's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/pyosc"
if ! "$venv/bin/python" -c "import pythonosc, websockets.sync.client, zeroconf, jack, link" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "python-osc==1.10.2" "websockets==15.0.1" "zeroconf==0.148.0" "JACK-Client==0.5.5" "LinkPython-extern==1.3.0" >&2
fi
echo "$venv/bin/python"
