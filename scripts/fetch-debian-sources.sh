#!/usr/bin/env bash
# Downloads the upstream tarballs (*.orig.tar.*) of Debian source packages into DEST/SUITE/, once:
# the real sources of real opam packages (Debian ships many opam packages' release tarballs
# byte-identical; `ecocheck cache import DEST --repo …` says which package versions each serves).
# Adds a deb-src entry for the suite and runs apt-get update the first time. Needs root (or sudo).
#
# Usage: scripts/fetch-debian-sources.sh DEST SUITE SOURCE-PACKAGE…
#   e.g. scripts/fetch-debian-sources.sh ~/.cache/ecocheck-debian-sources bookworm findlib ocaml-dune
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
dest=$1 suite=$2
shift 2
mkdir -p "$dest/$suite"
cd "$dest/$suite"
have() { ls "$1"_*.orig.tar.* >/dev/null 2>&1; }
missing=()
for p in "$@"; do have "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
list=/etc/apt/sources.list.d/ecocheck-$suite-src.sources
if [ ! -e "$list" ]; then
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$suite" | $SUDO tee "$list" >/dev/null
  $SUDO apt-get update -qq
fi
for p in "${missing[@]}"; do
  apt-get source --download-only -qq "$p/$suite" >/dev/null 2>&1 || true
  have "$p" || { echo "fetch-debian-sources: no upstream tarball for $p in $suite" >&2; exit 1; }
done
# Only the upstream tarballs are wanted.
rm -f ./*.dsc ./*.debian.tar.* ./*.diff.gz ./*.asc
