/**
 * Downloading one `http(s)://` source into a file, following redirects (at most 10), as opam's curl
 * does: the bytes as served (no content decoding), any 2xx a success.
 *
 * A download whose content is not known beforehand (a source without a checksum) reaches only the
 * public internet (public-address.ts) unless the user named its origin: each address is checked when
 * the connection is made (the resolver's answer itself, so a name that resolves to a public address for
 * a check and to a private one for the connection gets nowhere), and again after every redirect.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { BuilderError } from './builder-error.js';
import { isPublicAddress } from './public-address.js';

const MAX_REDIRECTS = 10;

export class DownloadError extends BuilderError {
  constructor(message: string) {
    super(message, 'input');
  }
}

export interface DownloadRequest {
  address: string;
  dest: string;
  signal?: AbortSignal;
  /**
   * null: any address may be reached (what is fetched is verified against its checksums). Otherwise only
   * public addresses, and those of these origins (`http://127.0.0.1:8080`: the user named them).
   */
  privateOrigins: readonly string[] | null;
}

function refusal(url: URL, address: string): DownloadError {
  return new DownloadError(
    `${url.host} is ${address}, not a public address: a source without a checksum is fetched from the public internet only (add --allow-local-sources ${url.origin} to allow it)`,
  );
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A resolver for the connection that refuses non-public answers (the check is on what is connected to). */
function publicOnlyLookup(url: URL): (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = addresses.find((a) => !isPublicAddress(a.address));
      if (bad) return callback(Object.assign(refusal(url, bad.address), { code: 'ENOTPUBLIC' }), []);
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function get(url: URL, guarded: boolean, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, {
      signal,
      headers: { 'user-agent': 'ecocheck', accept: '*/*' },
      ...(guarded ? { lookup: publicOnlyLookup(url) as never } : {}),
    });
    req.once('response', resolve);
    req.once('error', reject);
  });
}

/**
 * Refuses a host that is not on the public internet (a literal address, or any address its name resolves
 * to) unless its origin is named: for a clone by git, which resolves and connects by itself (so a name
 * resolving differently between this check and git's connection is not caught here; git is also told not
 * to follow redirects).
 */
export async function checkPublicHost(url: URL, privateOrigins: readonly string[]): Promise<void> {
  if (privateOrigins.includes(url.origin)) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) throw refusal(url, host);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, a) => (err ? reject(err) : resolve(a))));
  } catch (e) {
    throw new DownloadError(`${url.href}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad) throw refusal(url, bad.address);
}

/** Downloads `address` (following redirects) into `dest`. Throws DownloadError with a one-line reason. */
export async function httpDownload(req: DownloadRequest): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.address);
  } catch {
    throw new DownloadError(`${req.address}: not a valid address`);
  }
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new DownloadError(`${req.address}: redirected to ${url.href}, which is not http(s)`);
    const guarded = req.privateOrigins !== null && !req.privateOrigins.includes(url.origin);
    // A literal address is connected to without a lookup: checked here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (guarded && isIP(literal) !== 0 && !isPublicAddress(literal)) throw refusal(url, literal);
    let res: IncomingMessage;
    try {
      res = await get(url, guarded, req.signal);
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new DownloadError(`${req.address}: ${err.name === 'AbortError' ? 'aborted' : (err.code ?? err.message)}`);
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`${req.address}: more than ${MAX_REDIRECTS} redirects`);
      url = new URL(res.headers.location, url);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw new DownloadError(`${req.address}: HTTP ${status}`);
    }
    try {
      await pipeline(res, createWriteStream(req.dest));
    } catch (e) {
      throw new DownloadError(`${req.address}: download interrupted (${(e as Error).message})`);
    }
    return;
  }
}
