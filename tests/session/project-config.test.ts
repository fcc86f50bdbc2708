/**
 * The project config read through the one JSON-shape checker (errors/json-shape.ts) that run exports
 * use too: a good config reads as before; each bad field is one line naming the file and the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProjectConfig } from '../../src/session/project-config.js';
import { SessionError } from '../../src/session/session-error.js';

test('ecocheck.json: read as before; a bad field is one line naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-config-'));
  try {
    const file = join(dir, 'ecocheck.json');
    const write = (o: unknown) => writeFileSync(file, JSON.stringify(o));
    write({ repositories: ['repo'], compilers: { next: '5.3.0' }, targets: ['a'], jobs: 2, revdeps: 'a', allowLocalSources: ['src'] });
    const c = loadProjectConfig(undefined, dir);
    assert.deepEqual(
      [c.repositories, c.compilers, c.targets, c.jobs, c.revdeps, c.allowLocalSources],
      [[join(dir, 'repo')], { next: '5.3.0' }, ['a'], 2, { name: 'a', depth: 1 }, [join(dir, 'src')]],
    );

    const cases: [unknown, RegExp][] = [
      [[1], /: the config: expected an object$/],
      [{ repositorie: [] }, /: "repositorie": unknown field \(known: repositories, /],
      [{ repositories: ['a', ''] }, /: "repositories": expected a list of non-empty strings$/],
      [{ compilers: { next: 5 } }, /: "compilers\.next": expected a non-empty string$/],
      [{ jobs: 0 }, /: "jobs": expected a whole number of 1 or more$/],
      [{ revdeps: 'a', revdepsDepth: 1.5 }, /: "revdepsDepth": expected a whole number of 1 or more$/],
      [{ revdepsDepth: 2 }, /: "revdepsDepth" goes with "revdeps"$/],
    ];
    for (const [config, re] of cases) {
      write(config);
      assert.throws(
        () => loadProjectConfig(undefined, dir),
        (e: unknown) =>
          e instanceof SessionError &&
          e.kind === 'input' &&
          e.message.startsWith(`${file}: `) &&
          re.test(e.message) &&
          !e.message.includes('\n'),
        `${JSON.stringify(config)} → ${re}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
