#!/usr/bin/env bash
# Rewrites the sha256 of every `extra-files` entry of the opam files under a fixture repository to
# match the file in the package's files/ folder (after editing one of those files by hand).
# Usage: scripts/refresh-extra-files-checksums.sh fixtures/compilers [fixtures/offline-sources …]
set -euo pipefail
for repo in "$@"; do
  find "$repo/packages" -name opam | while read -r opam; do
    files="$(dirname "$opam")/files"
    [ -d "$files" ] || continue
    python3 - "$opam" "$files" <<'PY'
import hashlib, os, re, sys
opam, files = sys.argv[1:]
text = open(opam).read()
def fix(m):
    name = m.group(1)
    path = os.path.join(files, name)
    if not os.path.isfile(path):
        sys.exit(f"{opam}: extra-files names {name}, which is not in {files}")
    return f'["{name}" "sha256={hashlib.sha256(open(path, "rb").read()).hexdigest()}"]'
new = re.sub(r'\["([^"]+)" "sha256=[0-9a-f]{64}"\]', fix, text)
if new != text:
    open(opam, 'w').write(new)
    print(f"updated {opam}")
PY
  done
done
