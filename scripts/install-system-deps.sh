#!/usr/bin/env bash
# Debian packages ecocheck, its demo and its tests use: bubblewrap (build sandbox), ocaml-nox (the demo's
# baseline compiler, OCaml 4.13.1), the C toolchain OCaml 5.3.0 builds with (gcc, make, libc6-dev,
# binutils), chromium (the HTML report test), patch/bzip2/xz-utils/unzip (sources), git (git sources),
# util-linux and mount (unshare and mount compose each job's switch), libgmp-dev, pkg-config and m4
# (system packages the real packages of tests/e2e/builder/real-packages.test.ts ask for: conf-gmp, zarith), opam
# (opam 2.1.2's `opam lint`, the oracle of tests/e2e/opam/fuzz.test.ts).
# Then creates the system user builds run as when ecocheck runs as root, `ecocheck-build` (it owns
# nothing on the host: no home, no login shell; without it, builds run as a fixed uid no user has).
# Installs only what is missing; needs root (as on the project's machines) or sudo.
set -euo pipefail
wanted=(bubblewrap ocaml-nox gcc make libc6-dev binutils chromium patch bzip2 xz-utils unzip git util-linux mount libgmp-dev pkg-config m4 opam)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! getent passwd ecocheck-build >/dev/null; then
  echo "creating the system user ecocheck-build (builds run as it when ecocheck is root)"
  $SUDO useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ecocheck-build
fi
