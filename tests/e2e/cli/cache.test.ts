/**
 * The download cache as an offline mirror: `ecocheck cache import` stores files under all their
 * checksums and says which package versions they serve; `--archive-mirror DIR` lets a build whose url
 * is unreachable find its source in a mirror laid out as opam's archive-mirrors (ALGO/XX/HEX).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';

const bin = join(projectRoot, 'bin', 'ecocheck');

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('cache import stores a file under md5, sha256 and sha512 and names the package versions it serves', () => {
  const eco = instantiateEcosystem();
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-cache-import-'));
  try {
    const tarball = join(eco.root, 'distfiles', 'stdext-1.0.tar.gz');
    const cache = join(scratch, 'mirror');
    const r = ecocheck(['cache', 'import', join(eco.root, 'distfiles'), '--repo', eco.root, '--cache-dir', cache]);
    assert.equal(r.code, 0, r.stderr);
    // stdext.1.0's url names it with the right checksums; bad-checksum.1.0 names the same file with a wrong one.
    assert.match(r.stdout, /stdext-1\.0\.tar\.gz: sha256=[0-9a-f]{16}…, serves stdext\.1\.0$/m);
    assert.doesNotMatch(r.stdout, /bad-checksum/);
    const bytes = readFileSync(tarball);
    for (const algo of ['md5', 'sha256', 'sha512']) {
      const hex = createHash(algo).update(bytes).digest('hex');
      assert.ok(existsSync(join(cache, algo, hex.slice(0, 2), hex)), `stored under ${algo}`);
    }
    const again = ecocheck(['cache', 'import', tarball, '--cache-dir', cache, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).files.length, 1);
    const missing = ecocheck(['cache', 'import', join(scratch, 'nope.tar.gz'), '--cache-dir', cache]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^ecocheck: cache import .*nope\.tar\.gz: no such file or directory\n$/);
  } finally {
    eco.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('--archive-mirror: an unreachable url is served by a mirror directory, offline', () => {
  const eco = instantiateEcosystem();
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-archive-mirror-'));
  try {
    // stdext's source moves to an address nobody answers.
    const opam = join(eco.root, 'packages', 'stdext', 'stdext.1.0', 'opam');
    writeFileSync(opam, readFileSync(opam, 'utf8').replace(/src: "[^"]*"/, 'src: "http://127.0.0.1:9/stdext-1.0.tar.gz"'));
    const mirror = join(scratch, 'mirror');
    assert.equal(ecocheck(['cache', 'import', join(eco.root, 'distfiles', 'stdext-1.0.tar.gz'), '--cache-dir', mirror]).code, 0);
    const common = ['check', '--repo', eco.root, '--compiler', '1.0', '--jobs', '2', '--format', 'json'];
    const without = ecocheck([...common, '--state-dir', join(scratch, 'a'), 'stdext']);
    assert.equal(
      JSON.parse(without.stdout).results.find((p: { id: string }) => p.id === 'stdext.1.0').status,
      'fetch-failed',
      without.stdout,
    );
    const withMirror = ecocheck([...common, '--state-dir', join(scratch, 'b'), '--archive-mirror', mirror, 'stdext']);
    assert.equal(withMirror.code, 0, withMirror.stderr);
    assert.equal(JSON.parse(withMirror.stdout).results.find((p: { id: string }) => p.id === 'stdext.1.0').status, 'ok', withMirror.stdout);
    const log = ecocheck(['log', 'stdext', '--state-dir', join(scratch, 'b')]);
    assert.match(log.stdout, new RegExp(`fetching file://${mirror}/sha256/`));
    const bad = ecocheck([...common, '--state-dir', join(scratch, 'c'), '--archive-mirror', join(scratch, 'no-such-dir'), 'stdext']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ecocheck: --archive-mirror .*no-such-dir: neither a URL nor a directory\n$/);
  } finally {
    eco.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
});
