#!/usr/bin/env bash
# Puts axe-core (the accessibility rules engine, MPL-2.0, used only by the tests: it is injected
# into the pages under test in Chromium, never shipped) at target/axe/axe.min.js, from the npm
# registry's tarball, pinned by version and checked against the registry's sha512 integrity.
# Prints the path. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION=4.10.3
INTEGRITY="sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
OUT=target/axe/axe-$VERSION.min.js
if [ ! -s "$OUT" ]; then
  mkdir -p target/axe
  python3 - "$VERSION" "$INTEGRITY" "$OUT" <<'PY'
import base64, hashlib, io, sys, tarfile, urllib.request
version, integrity, out = sys.argv[1:]
url = f"https://registry.npmjs.org/axe-core/-/axe-core-{version}.tgz"
data = urllib.request.urlopen(url, timeout=60).read()
digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
if digest != integrity:
    sys.exit(f"axe-core {version}: the tarball's sha512 is {digest}, not the pinned {integrity}")
with tarfile.open(fileobj=io.BytesIO(data)) as t:
    js = t.extractfile("package/axe.min.js").read()
open(out, "wb").write(js)
PY
fi
echo "$PWD/$OUT"
