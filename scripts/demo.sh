#!/usr/bin/env bash
# The main job on the bundled demo ecosystem (fixtures/demo, configured by ecocheck.json):
#   1. setup (the only step that uses the network): Debian packages, npm packages and the build,
#      the OCaml 5.3.0 sources into ecocheck's download cache;
#   2. `ecocheck check --baseline`: every demo package built with OCaml 4.13.1;
#   3. `ecocheck check --compiler next`: built again with OCaml 5.3.0 (the compiler itself is a job,
#      built once into the store), then the regression report.
# A second run takes everything from the cache. Extra arguments (e.g. --state-dir DIR) go to every step.
# Exits 0 when the report was printed (finding regressions is the point of the demo), 2 on an error.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/demo-setup.sh "$@"
echo "== ecocheck check --baseline $*"
./bin/ecocheck check --baseline "$@"
echo "== ecocheck check --compiler next $*"
set +e
./bin/ecocheck check --compiler next "$@"
rc=$?
set -e
case $rc in
  0) echo "== no regressions" ;;
  1) echo "== regressions found (as the demo expects); 'ecocheck report --format markdown' gives a pull-request comment" ;;
  *) exit "$rc" ;;
esac
