/** opam's archive mirrors as a repository's `repo` file and an opam root's `config` declare them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultArchiveMirrors,
  OPAM_ORG_ARCHIVE_MIRROR,
  opamRootArchiveMirrors,
  repositoryArchiveMirrors,
} from '../../src/opam/archive-mirrors.js';
import { chooseArchiveMirrors, userOpamRoot } from '../../src/session/archive-mirror-choice.js';

function scratch(): { dir: string; repo: (name: string, text: string | null) => string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-mirrors-'));
  return {
    dir,
    repo: (name, text) => {
      const r = join(dir, name);
      mkdirSync(join(r, 'packages'), { recursive: true });
      if (text !== null) writeFileSync(join(r, 'repo'), text);
      return r;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// The real opam-repository's repo file (a git clone) has no archive-mirrors: it is recognised by its fields.
const OPAM_REPOSITORY_REPO =
  'opam-version: "2.0"\nbrowse: "https://opam.ocaml.org/pkg/"\nupstream: "https://github.com/ocaml/opam-repository/tree/master/"\n';

test("a clone of opam-repository gets opam.ocaml.org's cache, as opam's default repository does", () => {
  const s = scratch();
  try {
    const r = s.repo('opam-repository', OPAM_REPOSITORY_REPO);
    assert.deepEqual(repositoryArchiveMirrors(r), { mirrors: [], opamRepository: true, problem: null });
    assert.deepEqual(defaultArchiveMirrors([r], null).mirrors, [OPAM_ORG_ARCHIVE_MIRROR]);
    // Only browse, or only upstream (with .git), is enough; another project's upstream is not.
    assert.equal(
      repositoryArchiveMirrors(s.repo('b', 'opam-version: "2.0"\nbrowse: "https://opam.ocaml.org/pkg/"\n')).opamRepository,
      true,
    );
    assert.equal(repositoryArchiveMirrors(s.repo('u', 'upstream: "https://github.com/ocaml/opam-repository.git"\n')).opamRepository, true);
    assert.equal(
      repositoryArchiveMirrors(s.repo('o', 'upstream: "https://github.com/ocaml/opam-repository-archive/tree/main/"\n')).opamRepository,
      false,
    );
    assert.deepEqual(defaultArchiveMirrors([s.repo('plain', 'opam-version: "2.0"\n'), s.repo('none', null)], null).mirrors, []);
  } finally {
    s.dispose();
  }
});

test("a repo file's archive-mirrors: a URL as given, a relative entry read from the repository; a repository declaring its own gets no default", () => {
  const s = scratch();
  try {
    const r = s.repo('declared', `${OPAM_REPOSITORY_REPO}archive-mirrors: ["cache" "https://mirror.example/cache"]\n`);
    assert.deepEqual(repositoryArchiveMirrors(r).mirrors, [`file://${join(r, 'cache')}`, 'https://mirror.example/cache']);
    assert.deepEqual(defaultArchiveMirrors([r], null).mirrors, [`file://${join(r, 'cache')}`, 'https://mirror.example/cache']);
    const single = s.repo('single', 'archive-mirrors: "cache"\n');
    assert.deepEqual(repositoryArchiveMirrors(single).mirrors, [`file://${join(single, 'cache')}`]);
  } finally {
    s.dispose();
  }
});

test("an opam root's config adds its mirrors after the repositories', each address once", () => {
  const s = scratch();
  try {
    const root = join(s.dir, 'opamroot');
    mkdirSync(root);
    writeFileSync(
      join(root, 'config'),
      'opam-version: "2.0"\narchive-mirrors: ["https://opam.ocaml.org/cache" "https://cache.example/private"]\n',
    );
    assert.deepEqual(opamRootArchiveMirrors(root).mirrors, [OPAM_ORG_ARCHIVE_MIRROR, 'https://cache.example/private']);
    const r = s.repo('opam-repository', OPAM_REPOSITORY_REPO);
    assert.deepEqual(defaultArchiveMirrors([r], root).mirrors, [OPAM_ORG_ARCHIVE_MIRROR, 'https://cache.example/private']);
    assert.deepEqual(defaultArchiveMirrors([r], join(s.dir, 'no-root')).mirrors, [OPAM_ORG_ARCHIVE_MIRROR]);
    assert.equal(userOpamRoot({ OPAMROOT: root }), root);
    assert.match(userOpamRoot({}), /\/\.opam$/);
  } finally {
    s.dispose();
  }
});

test('a repo file that does not parse is named with its line and column, and gives no mirror', () => {
  const s = scratch();
  try {
    const r = s.repo('broken', 'opam-version: "2.0"\narchive-mirrors: [ "cache"\n');
    const found = defaultArchiveMirrors([r], null);
    assert.deepEqual(found.mirrors, []);
    assert.equal(found.problems.length, 1);
    assert.match(found.problems[0], new RegExp(`^${join(r, 'repo')}:\\d+:\\d+: `));
  } finally {
    s.dispose();
  }
});

test("--archive-mirror comes first; --no-default-mirror keeps only the user's", () => {
  const s = scratch();
  try {
    const r = s.repo('opam-repository', OPAM_REPOSITORY_REPO);
    const mine = 'file:///srv/mirror';
    assert.deepEqual(chooseArchiveMirrors({ archiveMirrors: [mine] }, [r], null), {
      mirrors: [mine, OPAM_ORG_ARCHIVE_MIRROR],
      defaults: [OPAM_ORG_ARCHIVE_MIRROR],
      problems: [],
    });
    assert.deepEqual(chooseArchiveMirrors({ archiveMirrors: [mine], defaultMirrors: false }, [r], null), {
      mirrors: [mine],
      defaults: [],
      problems: [],
    });
    // A mirror the user named already is not added twice.
    assert.deepEqual(chooseArchiveMirrors({ archiveMirrors: [OPAM_ORG_ARCHIVE_MIRROR] }, [r], null).mirrors, [OPAM_ORG_ARCHIVE_MIRROR]);
  } finally {
    s.dispose();
  }
});
