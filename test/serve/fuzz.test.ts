// Thousands of random and mutated bodies against `vitkit serve` in a child process: every reply must be a 2xx or
// a 4xx with a JSON error, and the process must stay up and keep answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { Rng } from '../../src/rng.ts';
import { MICRO_GRAY, noiseImage, spawnVitkit } from './helpers.ts';

const REQUESTS = 2000;
const CONCURRENCY = 16;
const MAX_BODY = 256 * 1024;

/** A PNG whose header claims width×height (valid CRC), followed by a few bytes of image data. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    sig,
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JPEG whose SOF0 header is patched to claim width×height. */
function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  const sof = out.indexOf(Buffer.from([0xff, 0xc0]));
  out.writeUInt16BE(height, sof + 5);
  out.writeUInt16BE(width, sof + 7);
  return out;
}

function multipart(body: Buffer, boundary: string): Buffer {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

test(`${REQUESTS} random and mutated bodies get 2xx/4xx replies and the server stays up`, async () => {
  const { child, url } = await spawnVitkit([
    'serve', '--checkpoint', MICRO_GRAY, '--port', '0', '--threads', '1',
    '--max-body-mb', String(MAX_BODY / 2 ** 20), '--max-pixels', String(512 * 512), '--max-queue', '100000',
  ]);
  const rng = new Rng(1234);
  const valid = await Promise.all([
    noiseImage(1, 32, 32),
    noiseImage(2, 40, 24, 'jpeg'),
    sharp(Buffer.alloc(20 * 20, 77), { raw: { width: 20, height: 20, channels: 1 } }).png().toBuffer(),
    sharp(Buffer.alloc(24 * 24 * 3, 200), { raw: { width: 24, height: 24, channels: 3 } }).webp().toBuffer(),
    sharp(Buffer.alloc(16 * 16 * 3, 10), { raw: { width: 16, height: 16, channels: 3 } }).gif().toBuffer(),
  ]);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rng.int(256)));
  const types = [
    'image/png', 'image/jpeg', 'image/x-anything', 'application/octet-stream', 'text/plain', 'application/json',
    'multipart/form-data', 'application/x-www-form-urlencoded', '',
  ];

  /** One fuzz case: a body, its content type, and whether it is an intact image (which must get a 200). */
  const makeCase = (): { body: Buffer; type: string; intact: boolean } => {
    const img = pick(valid);
    switch (rng.int(8)) {
      case 0:
        return { body: img, type: pick(['image/png', 'application/octet-stream']), intact: true };
      case 1:
        return { body: img.subarray(0, rng.int(img.length)), type: 'image/png', intact: false };
      case 2: {
        const b = Buffer.from(img);
        for (let k = 1 + rng.int(8); k > 0; k--) b[rng.int(b.length)] = rng.int(256);
        return { body: b, type: pick(types), intact: false };
      }
      case 3:
        return { body: randomBytes(rng.int(2048)), type: pick(types), intact: false };
      case 4:
        return {
          body: rng.int(2) ? pngClaiming(60_000 + rng.int(1000), 60_000) : jpegClaiming(valid[1]!, 65_000, 65_000),
          type: 'image/png',
          intact: false,
        };
      case 5: {
        const at = rng.int(img.length);
        return { body: Buffer.concat([img.subarray(0, at), randomBytes(1 + rng.int(64)), img.subarray(at)]), type: 'image/jpeg', intact: false };
      }
      case 6: {
        const boundary = `b${rng.int(1e9)}`;
        const form = multipart(img, boundary);
        const broken = rng.int(2) === 1;
        return { body: broken ? form.subarray(0, rng.int(form.length)) : form, type: `multipart/form-data; boundary=${boundary}`, intact: !broken };
      }
      default:
        return { body: rng.int(4) ? randomBytes(rng.int(64)) : randomBytes(MAX_BODY + 1 + rng.int(1024)), type: pick(types), intact: false };
    }
  };
  const cases = Array.from({ length: REQUESTS }, makeCase);

  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const path = rng.int(4) ? '/v1/classify' : rng.int(2) ? '/v1/embed' : `/v1/classify?top=${pick(['0', 'x', '3', '99', '-1'])}`;
      const headers: Record<string, string> = c.type ? { 'content-type': c.type } : {};
      const res = await fetch(`${url}${path}`, { method: 'POST', body: new Uint8Array(c.body), headers });
      const json = (await res.json()) as { error?: string };
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status >= 200 && res.status < 500, `case ${i} (${c.type}, ${c.body.length} bytes) got ${res.status}: ${JSON.stringify(json)}`);
      if (res.status >= 400) assert.equal(typeof json.error, 'string', `case ${i}: a JSON error`);
      if (c.intact && !path.includes('top=')) assert.equal(res.status, 200, `case ${i}: an intact image is classified`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  assert.equal(child.exitCode, null, 'the server is still running');
  assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
  const ok = await fetch(`${url}/v1/classify`, { method: 'POST', body: new Uint8Array(valid[0]!), headers: { 'content-type': 'image/png' } });
  assert.equal(ok.status, 200);
  for (const code of [200, 400, 413, 415]) assert.ok(statuses.get(code), `some replies were ${code}: ${JSON.stringify([...statuses])}`);
});
