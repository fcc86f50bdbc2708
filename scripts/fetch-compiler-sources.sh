#!/usr/bin/env bash
# Puts the sources of fixtures/compilers' compilers into ecocheck's download cache, from the npm
# registry's `ocaml` package (complete OCaml release sources): ocaml@5.3.0 (OCaml 5.3.0) and
# ocaml@4.14.1000 (OCaml 4.14.1). Each tarball is checked by `ecocheck cache import`, which says which
# package versions of fixtures/compilers it serves; a second run downloads nothing.
#
# Usage: scripts/fetch-compiler-sources.sh [--state-dir DIR | --cache-dir DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent ocaml@5.3.0 ocaml@4.14.1000 >/dev/null
out=$("$project/bin/ecocheck" cache import "$work" --repo "$project/fixtures/compilers" "$@")
printf '%s\n' "$out"
for p in ocaml-compiler.5.3.0 ocaml-base-compiler.4.14.1; do
  grep -q "serves .*$p" <<<"$out" || { echo "fetch-compiler-sources: the npm tarball for $p does not match its checksums" >&2; exit 1; }
done
