#!/usr/bin/env bash
# Produces fixtures/oracle/solutions-5.3.0.tsv: opam 2.1.2's own solution of `opam install PKG` on a fresh
# switch whose invariant is ocaml-base-compiler.5.3.0, for the most depended-on packages of a snapshot.
#
#   scripts/solver-oracle.sh SNAPSHOT_DIR OUT.tsv [COUNT]
#
# Needs Debian's opam 2.1.2 and `npm run build`. Uses its own OPAMROOT (never ~/.opam); resumes an
# interrupted run (packages already in OUT.tsv are skipped). One opam solve takes 10-15 s: run it in the
# background with nice. Output, one line per package, tab-separated:
#   NAME  ok|none  ACTIONS
# where ACTIONS are opam's dry-run actions (`install:NAME.VERSION`, …) separated by spaces (`none`: opam
# found no solution). The switch's own packages (the fake-installed compiler) are in the header.
set -euo pipefail
snapshot=$1
out=$2
count=${3:-250}
here=$(cd "$(dirname "$0")" && pwd)
work=${ECOCHECK_ORACLE_WORK:-$HOME/.cache/ecocheck-solver-oracle}
export OPAMROOT=$work/opamroot OPAMYES=1 OPAMCOLOR=never
mkdir -p "$work"
# The packages: most depended-on first; the names the fresh switch already has are left out.
node "$here/solver-oracle-packages.mjs" "$snapshot" $((count + 20)) | cut -f1 > "$work/candidates.txt"
if [ ! -d "$OPAMROOT/oracle" ]; then
  rm -rf "$work/repo" "$OPAMROOT"
  mkdir -p "$work/repo/packages"
  cp "$snapshot/repo" "$snapshot/version" "$work/repo/" 2>/dev/null || true
  node "$here/solver-oracle-closure.mjs" "$snapshot" ocaml-base-compiler $(cat "$work/candidates.txt") |
    while read -r n; do cp -r "$snapshot/packages/$n" "$work/repo/packages/"; done
  opam init --bare -n --disable-sandboxing -k local default "$work/repo"
  opam switch create oracle --empty
  opam install --fake ocaml-base-compiler.5.3.0
  opam switch set-invariant ocaml-base-compiler.5.3.0
fi
base=$(opam list --installed --short --columns=package | sort | tr '\n' ' ')
while read -r n; do
  case " $base " in *" $n."*) continue ;; esac
  echo "$n"
done < "$work/candidates.txt" > "$work/selected.txt"
head -n "$count" "$work/selected.txt" > "$work/packages.txt"
if [ ! -s "$out" ]; then
  {
    echo "# opam $(opam --version), $(opam config report 2>/dev/null | grep '^# solver' | sed 's/# solver *//'), fresh switch, invariant ocaml-base-compiler.5.3.0"
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
