#!/usr/bin/env bash
# Produces fixtures/oracle/solutions-COMPILER.tsv: opam 2.1.2's own solution of `opam install PKG` on a
# fresh switch whose invariant is COMPILER (default ocaml-base-compiler.5.3.0), for the most depended-on
# packages of a snapshot plus the packages whose newest version is not installable with that compiler.
#
#   COMPILER=ocaml-base-compiler.4.14.2 scripts/solver-oracle.sh SNAPSHOT_DIR OUT.tsv [COUNT [EXTRA]]
#
# COUNT (default 250) most depended-on names, and up to EXTRA (default 100) more whose newest version
# ecocheck finds not installable with COMPILER (scripts/solver-oracle-packages.mjs), minus the names the
# fresh switch already holds. Needs Debian's opam 2.1.2 and `npm run build`. Uses its own OPAMROOT per
# compiler (never ~/.opam); resumes an interrupted run (packages already in OUT.tsv are skipped; the
# trimmed repository and the switch are made again only when the package list needs more names). One
# opam solve takes 5-15 s: run it in the background with nice. Output, one line per package, tab-separated:
#   NAME  ok|none  ACTIONS
# where ACTIONS are opam's dry-run actions (`install:NAME.VERSION`, …) separated by spaces (`none`: opam
# found no solution). The switch's own packages (the fake-installed compiler) are in the header.
set -euo pipefail
snapshot=$1
out=$2
count=${3:-250}
extra=${4:-100}
compiler=${COMPILER:-ocaml-base-compiler.5.3.0}
here=$(cd "$(dirname "$0")" && pwd)
work=${ECOCHECK_ORACLE_WORK:-$HOME/.cache/ecocheck-solver-oracle}/$compiler
export OPAMROOT=$work/opamroot OPAMYES=1 OPAMCOLOR=never
mkdir -p "$work"
# The packages, in the order they are solved; the names the fresh switch already has are left out below.
node "$here/solver-oracle-packages.mjs" "$snapshot" "$count" "$compiler" "$extra" | cut -f1 > "$work/candidates.txt"
node "$here/solver-oracle-closure.mjs" "$snapshot" "${compiler%%.*}" $(cat "$work/candidates.txt") > "$work/names.new"
if [ ! -d "$OPAMROOT/oracle" ] || ! cmp -s "$work/names.new" "$work/names.txt"; then
  rm -rf "$work/repo" "$OPAMROOT"
  mkdir -p "$work/repo/packages"
  cp "$snapshot/repo" "$snapshot/version" "$work/repo/" 2>/dev/null || true
  while read -r n; do cp -r "$snapshot/packages/$n" "$work/repo/packages/"; done < "$work/names.new"
  opam init --bare -n --disable-sandboxing -k local default "$work/repo"
  opam switch create oracle --empty
  opam install --fake "$compiler"
  opam switch set-invariant "$compiler"
  mv "$work/names.new" "$work/names.txt"
fi
base=$(opam list --installed --short --columns=package | sort | tr '\n' ' ')
while read -r n; do
  case " $base " in *" $n."*) continue ;; esac
  echo "$n"
done < "$work/candidates.txt" > "$work/selected.txt"
cp "$work/selected.txt" "$work/packages.txt"
if [ ! -s "$out" ]; then
  {
    echo "# opam $(opam --version), $(opam config report 2>/dev/null | grep '^# solver' | sed 's/# solver *//'), fresh switch, invariant $compiler"
    echo "# criteria: $(opam config report 2>/dev/null | grep '^# install-criteria' | sed 's/# install-criteria *//')"
    echo "# switch: $base"
    echo "# repository: the snapshot trimmed to $(ls "$work/repo/packages" | wc -l) names (scripts/solver-oracle-closure.mjs)"
  } > "$out"
fi
while read -r name; do
  if grep -q "^$name	" "$out"; then continue; fi
  rm -f "$work/dry.json"
  if opam install --dry-run --show-actions "$name" --json="$work/dry.json" > "$work/last.log" 2>&1; then status=ok; else status=none; fi
  actions=$(node -e '
    const fs = require("fs");
    const f = process.argv[1];
    if (!fs.existsSync(f)) process.exit(0);
    const j = JSON.parse(fs.readFileSync(f, "utf8"));
    const acts = [];
    for (const a of j.solution ?? []) {
      for (const [kind, v] of Object.entries(a)) {
        if (Array.isArray(v)) acts.push(`${kind}:${v.map((x) => x.name + "." + x.version).join(">")}`);
        else acts.push(`${kind}:${v.name}.${v.version}`);
      }
    }
    process.stdout.write(acts.join(" "));
  ' "$work/dry.json")
  if [ "$status" = ok ] && [ -z "$actions" ]; then status=error; fi
  printf '%s\t%s\t%s\n' "$name" "$status" "$actions" >> "$out"
done < "$work/packages.txt"
