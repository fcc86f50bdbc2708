#!/usr/bin/env bash
# Ground truth for ecocheck's installer: what REAL opam installs, file by file, for real packages.
#
# Debian's opam 2.1.2 installs each package of PACKAGES (below), one at a time and offline, into one switch
# on Debian's OCaml 4.13.1 (ocaml-system.4.13.1), from the Debian-served corpus repository written by
# /work/shared/realworld/make-debian-corpus. For each package it keeps what opam itself recorded:
#
#   OUT/NAME.VERSION.changes  $OPAMROOT/oracle/.opam-switch/install/NAME.changes, copied byte for byte
#   OUT/index.tsv             every installed package with a .changes: build system, number of added regular files
#                             ("F" entries of added:), solution: the installed packages it depends on, depopts
#                             included, recursively through installed packages, and itself, as NAME.VERSION in
#                             the order opam (last) installed them
#   OUT/actions.tsv           package asked for, what that `opam install` did (installed:/removed:NAME.VERSION)
#   OUT/failures.tsv          package asked for, the error lines of an install that failed
#
# Usage:  scripts/make-opam-install-oracle.sh            (resumes: a package is skipped when some version of it is
#                                                          installed, or when it is in failures.tsv)
#         FRESH=1 scripts/make-opam-install-oracle.sh    (new opam root and switch, and OUT's data files, first)
# Env:    CORPUS  the corpus (default /root/.cache/ecocheck-corpus: repo/, cache/)
#         WORK    opam root, repository copy, logs (default /root/.cache/ecocheck-opam-oracle)
#         EXTRA   a directory of extra-source files the corpus does not serve (see README.md); each is put in a
#                 download cache by its checksums, so opam finds it as it would find the upstream file
#         OUT     default fixtures/opam-install-oracle of this checkout
# Needs:  Debian's opam 2.1.2 and ocaml-nox 4.13.1, and the C libraries the conf-* packages check (README.md).
# Builds run with `nice -n 10` and OPAMJOBS=1: the machine is shared.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-/root/.cache/ecocheck-corpus}
WORK=${WORK:-/root/.cache/ecocheck-opam-oracle}
EXTRA=${EXTRA:-$WORK/extra}
OUT=${OUT:-$HERE/fixtures/opam-install-oracle}
SWITCH=oracle

export OPAMROOT=$WORK/root OPAMJOBS=1 OPAMYES=1 OPAMCOLOR=never OPAMUTF8=never OPAMNOENVNOTICE=1 OPAMROOTISOK=1
unset OPAMSWITCH OPAM_SWITCH_PREFIX || true

# NAME.VERSION and its build system, in install order (conf-pkg-config.4, not .5: .5's extra-sources are served nowhere here).
PACKAGES=${PACKAGES:-"
ocamlfind.1.9.6 findlib
conf-pkg-config.4 conf
conf-gmp.5 conf
zarith.1.12 make
num.1.4 make
xml-light.2.4 make
camlzip.1.11 make
ocamlbuild.0.14.1 make
topkg.1.0.7 topkg
cmdliner.1.1.1 make
astring.0.8.5 topkg
react.1.2.2 topkg
xmlm.1.4.0 topkg
fmt.0.9.0 topkg
uutf.1.0.3 topkg
rresult.0.7.0 topkg
logs.0.7.0 topkg
uuseg.15.0.0 topkg
dune.2.9.3 dune
cppo.1.6.9 dune
re.1.10.4 dune
sexplib0.v0.15.1 dune
stringext.1.6.0 dune
pprint.20220103 dune
camlp-streams.5.0.1 dune
ppx_derivers.1.2.1 dune
ocplib-endian.1.2 dune
integers.0.7.0 dune
trie.1.0.0 dune
ounit2.2.2.6 dune
benchmark.1.6 dune
cpu.2.0.0 dune
camlbz2.0.7.0 make
ocamlwc.0.3 make
ppx_tools.6.6 dune
xmlplaylist.0.1.5 dune
reactiveData.0.3.0 dune
cppo_ocamlbuild.1.6.9 dune
magic.0.7.3 make
ocurl.0.9.2 make
gavl.0.1.6 make
pcre.7.5.0 dune
parmap.1.2.5 dune
camomile.1.0.2 dune
oasis.0.4.11 oasis
ulex.1.2 ocamlbuild
"}

LOGS=$WORK/logs
ORDER=$WORK/install-order.log        # every "-> installed NAME.VERSION" opam printed, in order
mkdir -p "$WORK" "$LOGS" "$OUT"

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
opam_() { nice -n 10 opam "$@"; }

# ---- 1. opam root, repository, offline sources, switch ---------------------------------------------------------
if [ "${FRESH:-0}" = 1 ]; then
  rm -rf "$OPAMROOT" "$ORDER" "$LOGS"; mkdir -p "$LOGS"
  rm -f "$OUT"/*.changes "$OUT/index.tsv" "$OUT/actions.tsv" "$OUT/failures.tsv"
fi
if [ ! -d "$OPAMROOT/$SWITCH" ]; then
  say "repository copy: $CORPUS/repo -> $WORK/repo"
  rm -rf "$WORK/repo"; cp -a "$CORPUS/repo" "$WORK/repo"
  # offline: opam 2.1 looks every source up by checksum in the repository's archive-mirrors (ALGO/XX/HASH) first
  mirrors="archive-mirrors: [\"file://$CORPUS/cache\" \"file://$WORK/extra-cache\"]"
  echo "$mirrors" >> "$WORK/repo/repo"
  say "extra sources: $EXTRA -> $WORK/extra-cache"
  rm -rf "$WORK/extra-cache"
  for f in "$EXTRA"/*; do
    [ -f "$f" ] || continue
    for algo in md5 sha256 sha512; do
      h=$(${algo}sum "$f" | cut -d' ' -f1)
      mkdir -p "$WORK/extra-cache/$algo/${h:0:2}"
      cp "$f" "$WORK/extra-cache/$algo/${h:0:2}/$h"
    done
  done
  # EXTRA/NAME.VERSION/FILE: an extra-source that no copy byte-identical to the upstream file could be found for.
  # NAME.VERSION's opam file goes, without that extra-source section, into an overlay repository in front of the
  # corpus, with FILE in its files/ (opam copies files/ into the build directory, as it does an extra-source).
  rm -rf "$WORK/overlay"; mkdir -p "$WORK/overlay/packages"; printf 'opam-version: "2.0"\n%s\n' "$mirrors" > "$WORK/overlay/repo"
  for d in "$EXTRA"/*/; do
    [ -d "$d" ] || continue
    nv=$(basename "$d"); n=${nv%%.*}; dst=$WORK/overlay/packages/$n/$nv
    mkdir -p "$dst/files"; cp "$d"* "$dst/files/"
    python3 - "$WORK/repo/packages/$n/$nv/opam" "$dst/opam" $(ls "$d") <<'PY'
import re, sys
src, dst, names = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(src, encoding='utf-8').read()
for n in names:
    text, k = re.subn(r'^extra-source\s+"%s"\s*\{.*?^\}\n' % re.escape(n), '', text, flags=re.M | re.S)
    if k != 1: sys.exit('%s: no extra-source "%s"' % (src, n))
open(dst, 'w', encoding='utf-8').write(text)
PY
    say "overlay: $nv with files/ $(ls "$d" | tr '\n' ' ')"
  done
  # corpus gap: make-debian-corpus reads a url section written on one line (`checksum: "sha512=..."}`) as no url,
  # so it keeps such versions but serves no tarball for them. Serve those whose tarball Debian ships byte-identical.
  python3 - "$WORK/repo/packages" "$CORPUS/debian" "$CORPUS/cache" "$WORK/extra-cache" <<'PY' >&2
import hashlib, os, re, shutil, sys
pk, deb, served, cache = sys.argv[1:]
held = {}
for suite in sorted(os.listdir(deb)):
    for fn in sorted(os.listdir(os.path.join(deb, suite))):
        p = os.path.join(deb, suite, fn)
        if fn.endswith(('.dsc', '.asc')) or '.debian.tar.' in fn or not os.path.isfile(p): continue
        data = open(p, 'rb').read()
        held.update({(a, hashlib.new(a, data).hexdigest()): p for a in ('md5', 'sha256', 'sha512')})
for name in sorted(os.listdir(pk)):
    for nv in sorted(os.listdir(os.path.join(pk, name))):
        m = re.search(r'^url\s*\{(.*?)\}', open(os.path.join(pk, name, nv, 'opam'), errors='replace').read(), re.M | re.S)
        sums = re.findall(r'"(md5|sha256|sha512)=([0-9a-fA-F]+)"', m.group(1)) if m else []
        if not sums or any(os.path.exists(os.path.join(served, a, h[:2], h)) for a, h in sums): continue
        files = {held.get((a, h.lower())) for a, h in sums}
        if None in files or len(files) != 1: continue
        data = open(files.pop(), 'rb').read()
        for a in ('md5', 'sha256', 'sha512'):
            h = hashlib.new(a, data).hexdigest(); d = os.path.join(cache, a, h[:2]); os.makedirs(d, exist_ok=True)
            open(os.path.join(d, h), 'wb').write(data)
        print('  served from Debian as well: %s' % nv)
PY
  rm -rf "$OPAMROOT"
  say "opam init"
  opam_ init --bare -n --disable-sandboxing -k local corpus "$WORK/repo" > "$LOGS/init.log" 2>&1
  opam_ repository add -k local overlay "$WORK/overlay" --dont-select > "$LOGS/repo-add.log" 2>&1
  opam_ option --global depext-run-installs=false   # never apt-get from opam: the host's packages are listed in README
  say "opam switch create $SWITCH ocaml-system.4.13.1"
  opam_ switch create "$SWITCH" --repositories=overlay,corpus ocaml-system.4.13.1 > "$LOGS/switch-create.log" 2>&1 \
    || { tail -30 "$LOGS/switch-create.log" >&2; exit 1; }
  grep -o -- '-> installed [^ ]*' "$LOGS/switch-create.log" | awk '{print $3}' >> "$ORDER"
  [ -f "$OUT/actions.tsv" ] || printf 'package\tactions\n' > "$OUT/actions.tsv"
fi
export OPAMSWITCH=$SWITCH
SW=$OPAMROOT/$SWITCH

# ---- 2. the packages, one by one ----------------------------------------------------------------------------------
# build system of an installed package, from its opam file (for dependencies; targets are named in PACKAGES)
build_of() {
  local pkg=$1 name=${1%%.*} f
  f=$(opam_ show --raw "$pkg" 2>/dev/null)
  case $name in
    ocamlfind) echo findlib; return;;
    conf-*) echo conf; return;;
    ocaml|ocaml-system|ocaml-config) echo compiler; return;;
  esac
  if ! grep -q '^url' <<<"$f"; then echo virtual; return; fi
  if [ "$name" = dune ] || grep -qE '"(dune|jbuilder)"' <<<"$f"; then echo dune
  elif grep -q 'pkg/pkg.ml' <<<"$f"; then echo topkg
  elif grep -qE 'setup\.ml|"oasis"' <<<"$f"; then echo oasis
  elif [ "$name" != ocamlbuild ] && grep -qE '"ocamlbuild"' <<<"$f" && ! grep -qE '\b(make|"make")\b' <<<"$f"; then echo ocamlbuild
  else echo make; fi
}

# regular files among the added entries: `added: [ "lib/fmt/META" {"F:S1234T1796111002.62"} ... ]`, or, for a
# single entry, `added: "bin/ocamlwc" {"F:..."}` (opam syntax writes a one-element list without brackets)
count_added() {
  awk '/^added:/{a=1} /^[a-z-]+:/&&!/^added:/{a=0} a{n+=gsub(/\{"F:/, "")} END{print n+0}' "$1"
}

# index.tsv from the switch as it is: every installed package with a .changes file, its build system, its number of
# added regular files, and its solution: the installed packages it depends on (depopts included), recursively through
# installed packages only, and itself, ordered by when opam last installed them. A package is rebuilt when a
# dependency or depopt is (re)installed, so the final state is the state each package was (last) built in.
record() {
  local pkg name ch build added
  : > "$WORK/direct.tsv"; : > "$WORK/rows.tsv"
  for pkg in $(opam_ list --installed --short --columns=package); do
    # direct dependencies and depopts among the installed packages (build and run ones: no test or doc deps)
    printf '%s\t%s\n' "$pkg" "$(opam_ list --installed --short --columns=package --required-by="$pkg" --depopts | tr '\n' ' ')" >> "$WORK/direct.tsv"
    name=${pkg%%.*}; ch=$SW/.opam-switch/install/$name.changes
    [ -f "$ch" ] || continue
    cmp -s "$ch" "$OUT/$pkg.changes" 2>/dev/null || cp "$ch" "$OUT/$pkg.changes"
    build=$(awk -v p="$pkg" '$1==p{print $2}' <<<"$PACKAGES"); [ -n "$build" ] || build=$(build_of "$pkg")
    added=$(count_added "$ch")
    printf '%s\t%s\t%s\n' "$pkg" "$build" "$added" >> "$WORK/rows.tsv"
  done
  python3 - "$WORK/direct.tsv" "$WORK/rows.tsv" "$ORDER" > "$OUT/index.tsv.tmp" <<'PY'
import sys
direct = {l.split('\t')[0]: l.rstrip('\n').split('\t')[1].split() for l in open(sys.argv[1]) if l.strip()}
last = {}
for i, l in enumerate(open(sys.argv[3])): last[l.strip()] = i
print('package\tbuild\tadded\tsolution')
for row in open(sys.argv[2]):
    pkg, build, added = row.rstrip('\n').split('\t')
    seen, todo = set(), [pkg]
    while todo:
        p = todo.pop()
        if p in seen: continue
        seen.add(p); todo += [d for d in direct.get(p, []) if d in direct]
    for p in seen:
        if p not in last: print('not in install-order.log: ' + p, file=sys.stderr)
    order = sorted(seen, key=lambda p: (last.get(p, 1e9), p))
    if order[-1] != pkg: print('%s: installed before a dependency of it? %s' % (pkg, ' '.join(order)), file=sys.stderr)
    print('%s\t%s\t%s\t%s' % (pkg, build, added, ' '.join(order)))
PY
  # a package opam replaced later (e.g. dune.2.9.3 upgraded to dune.3.17.2 for a package that needs it) keeps its
  # .changes and its row from when it was installed
  if [ -f "$OUT/index.tsv" ]; then
    awk -F'\t' 'NR==FNR{now[$1]=1; next} FNR>1 && !($1 in now)' "$OUT/index.tsv.tmp" "$OUT/index.tsv" \
      | while IFS= read -r row; do if [ -f "$OUT/${row%%	*}.changes" ]; then printf '%s\n' "$row"; fi; done > "$WORK/gone.tsv"
    { cat "$OUT/index.tsv.tmp"; cat "$WORK/gone.tsv"; } | { read -r h; printf '%s\n' "$h"; sort; } > "$OUT/index.tsv"
    rm -f "$OUT/index.tsv.tmp"
  else
    mv "$OUT/index.tsv.tmp" "$OUT/index.tsv"
  fi
}

echo "$PACKAGES" | while read -r pkg build; do
  [ -n "$pkg" ] || continue
  case $pkg in \#*) continue;; esac
  # installed before, or replaced by another version of it (dune.2.9.3 by dune.3.17.2): never downgrade the switch
  had=$(opam_ list --installed --short --columns=package "${pkg%%.*}" 2>/dev/null || true)
  if [ -n "$had" ]; then say "$pkg: installed before ($had)"; continue; fi
  if grep -q "^$pkg	" "$OUT/failures.tsv" 2>/dev/null; then say "$pkg: failed before"; continue; fi
  say "$pkg ($build)"
  opam_ install --dry-run --show-actions "$pkg" > "$LOGS/$pkg.plan" 2>&1 || true
  if ! opam_ install -y "$pkg" > "$LOGS/$pkg.log" 2>&1; then
    # opam's error, then: the solver's reasons (no solution), or the build output's error lines
    err=$( { grep -m1 '^\[ERROR\]' "$LOGS/$pkg.log"
             sed -n '/^\[ERROR\] Package conflict/,/^No solution/p' "$LOGS/$pkg.log" | grep -E '^ +- ' | head -4
             sed -n '/### output ###/,/Error report/p' "$LOGS/$pkg.log" | grep -iE 'error|not found|no such' | grep -v 'Error report' | head -3; } \
           | sed 's/^[# ]*//' | tr -s '\t\n ' '   ' | cut -c1-500) || true
    printf '%s\t%s\n' "$pkg" "$err" >> "$OUT/failures.tsv"
    say "$pkg FAILED: $err"
    grep -o -- '-> installed [^ ]*' "$LOGS/$pkg.log" | awk '{print $3}' >> "$ORDER" || true
    continue
  fi
  grep -o -- '-> installed [^ ]*' "$LOGS/$pkg.log" | awk '{print $3}' >> "$ORDER" || true
  actions=$(grep -oE -- '-> (installed|removed) [^ ]+' "$LOGS/$pkg.log" | awk '{print $2 ":" $3}' | tr '\n' ' ' | sed 's/ $//')
  printf '%s\t%s\n' "$pkg" "$actions" >> "$OUT/actions.tsv"
  say "$pkg: $(count_added "$SW/.opam-switch/install/${pkg%%.*}.changes") files"
done
say "index.tsv"
record
