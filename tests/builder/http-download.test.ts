/**
 * Downloads (builder/http-download.ts): a source without a checksum reaches only the public internet or
 * an origin the user named — checked on the address connected to, after every redirect, for names and
 * literal addresses alike — and bytes are saved as served.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DownloadError, httpDownload } from '../../src/builder/http-download.js';
import { isPublicAddress } from '../../src/builder/public-address.js';

let work: string;
let a: Server;
let b: Server;
let originA: string;
let originB: string;
const hits = { a: 0, b: 0 };

function serve(name: 'a' | 'b'): Promise<Server> {
  const server = createServer((req, res) => {
    hits[name]++;
    if (req.url === '/secret') {
      res.writeHead(200);
      res.end(`secret of ${name}\n`);
    } else if (req.url === '/to-b') {
      res.writeHead(302, { location: `${originB}/secret` });
      res.end();
    } else if (req.url === '/to-self') {
      res.writeHead(301, { location: '/secret' });
      res.end();
    } else if (req.url === '/gzipped') {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync('tarball bytes'));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-download-'));
  a = await serve('a');
  b = await serve('b');
  originA = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
  originB = `http://127.0.0.1:${(b.address() as AddressInfo).port}`;
});

after(async () => {
  await Promise.all([a, b].map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(work, { recursive: true, force: true });
});

test('public addresses: loopback, private, link-local, CGNAT, multicast, unspecified and mapped forms are not', () => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '151.101.1.69']) assert.equal(isPublicAddress(ip), true, ip);
  for (const ip of [
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    'fe80::1%eth0',
    'fd12::1',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe',
    'localhost',
    '',
  ]) {
    assert.equal(isPublicAddress(ip), false, ip);
  }
});

test('a download without a checksum is refused on a non-public address, before any request reaches it', async () => {
  const before = hits.a;
  for (const address of [`${originA}/secret`, `${originA.replace('127.0.0.1', 'localhost')}/secret`]) {
    await assert.rejects(
      httpDownload({ address, dest: join(work, 'x'), privateOrigins: [] }),
      (e: unknown) =>
        e instanceof DownloadError &&
        /is 127\.0\.0\.1, not a public address: .*--allow-local-sources http:\/\/(127\.0\.0\.1|localhost):\d+/.test(e.message),
    );
  }
  assert.equal(hits.a, before, 'the server was reached');
  // A literal link-local address (cloud metadata) is refused without a connection being tried.
  const t0 = Date.now();
  await assert.rejects(
    httpDownload({ address: 'http://169.254.169.254/latest/meta-data/', dest: join(work, 'y'), privateOrigins: [] }),
    /169\.254\.169\.254 is 169\.254\.169\.254, not a public address/,
  );
  assert.ok(Date.now() - t0 < 1000);
});

test('an origin the user named is fetched from, as is anything verified by checksums afterwards; bytes are saved as served', async () => {
  await httpDownload({ address: `${originA}/secret`, dest: join(work, 'named'), privateOrigins: [originA] });
  assert.equal(readFileSync(join(work, 'named'), 'utf8'), 'secret of a\n');
  await httpDownload({ address: `${originB}/secret`, dest: join(work, 'verified'), privateOrigins: null });
  assert.equal(readFileSync(join(work, 'verified'), 'utf8'), 'secret of b\n');
  await httpDownload({ address: `${originA}/to-self`, dest: join(work, 'redirected'), privateOrigins: [originA] });
  assert.equal(readFileSync(join(work, 'redirected'), 'utf8'), 'secret of a\n');
  // No content decoding (curl, which opam uses, does none): a checksum is over the bytes served.
  await httpDownload({ address: `${originA}/gzipped`, dest: join(work, 'gz'), privateOrigins: null });
  assert.deepEqual(readFileSync(join(work, 'gz')), gzipSync('tarball bytes'));
});

test('a redirect from a named origin to another non-public one is refused; HTTP errors are one line', async () => {
  const before = hits.b;
  await assert.rejects(
    httpDownload({ address: `${originA}/to-b`, dest: join(work, 'z'), privateOrigins: [originA] }),
    /not a public address/,
  );
  assert.equal(hits.b, before, 'the second server was reached');
  await assert.rejects(httpDownload({ address: `${originA}/none`, dest: join(work, 'n'), privateOrigins: [originA] }), /\/none: HTTP 404$/);
  await assert.rejects(
    httpDownload({ address: 'http://127.0.0.1:9/x', dest: join(work, 'd'), privateOrigins: null }),
    /:9\/x: ECONNREFUSED$/,
  );
});

test("a git remote's host (git resolves and connects by itself) is checked the same way before the clone", async () => {
  const { checkPublicHost } = await import('../../src/builder/http-download.js');
  await assert.rejects(checkPublicHost(new URL('http://10.1.2.3/repo.git'), []), /10\.1\.2\.3 is 10\.1\.2\.3, not a public address/);
  await assert.rejects(checkPublicHost(new URL('git://localhost/repo'), []), /is (127\.0\.0\.1|::1), not a public address/);
  await assert.rejects(checkPublicHost(new URL('ssh://[::1]/repo'), []), /is ::1, not a public address/);
  await checkPublicHost(new URL('https://1.1.1.1/repo.git'), []);
  await checkPublicHost(new URL(`${originA}/repo.git`), [originA]);
});
