// Load test of `vitkit serve`: throughput and p50/p99 latency with dynamic batching on (--max-batch 16) and off
// (--max-batch 1, the reference, measured in the same run), under the same closed-loop loopback load from
// autocannon (N concurrent clients, each sending its next image as soon as the last reply arrives).
// A third mode serves the same checkpoint with --int8 (batching on), for int8's latency and throughput.
// The modes alternate for --rounds rounds, so a load from elsewhere that comes and goes shows up as rounds
// that disagree rather than as a skewed ratio.
// Run: node --import tsx bench/serve.ts [--arch vit_small_patch16_224] [--connections 16] [--seconds 15]
//      [--rounds 2] [--max-batch 16] [--threads N]. Prints one JSON line.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { saveCheckpoint } from '../src/weights/checkpoint.ts';
import { machine } from './machine.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string' },
    connections: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    'max-batch': { type: 'string' },
    threads: { type: 'string' },
  },
});
const arch = values.arch ?? 'vit_small_patch16_224';
const connections = Number(values.connections ?? 16);
const seconds = Number(values.seconds ?? 15);
const rounds = Number(values.rounds ?? 2);
const maxBatch = Number(values['max-batch'] ?? 16);

/** The CLI from its sources (no build needed to benchmark a change). */
const VITKIT = ['--import', 'tsx', new URL('../src/cli/main.ts', import.meta.url).pathname];

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface LoadResult {
  readonly requests: { readonly average: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly non2xx: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer;
}) => Promise<LoadResult>;
// Its CLI reads a body file as UTF-8, which mangles images: the API takes the bytes as they are.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Run {
  readonly max_batch: number;
  readonly int8: boolean;
  readonly requests_per_sec: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly mean_batch: number;
  readonly non_2xx: number;
}

/** Starts `vitkit serve` on a free port and resolves with its address. */
function serve(checkpoint: string, batch: number, int8: boolean): Promise<{ url: string; stop: () => Promise<void> }> {
  const flags = [...(values.threads ? ['--threads', values.threads] : []), ...(int8 ? ['--int8'] : [])];
  const child = spawn(process.execPath, [...VITKIT, 'serve', '--checkpoint', checkpoint, '--port', '0', '--max-batch', String(batch), ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve({ url: m[1]!, stop: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) });
    });
    child.once('exit', (code) => reject(new Error(`vitkit serve exited with ${code}`)));
  });
}

/** A closed loop of `connections` clients POSTing the image for `duration` seconds (the server is another process). */
function load(url: string, body: Buffer, duration: number): Promise<LoadResult> {
  return autocannon({ url: `${url}/v1/classify`, connections, duration, method: 'POST', headers: { 'content-type': 'image/jpeg' }, body });
}

/** Mean images per inference run, from the server's own metrics. */
async function meanBatch(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)![1]);
  return read('vitkit_batch_size_sum') / read('vitkit_batch_size_count');
}

async function measure(checkpoint: string, body: Buffer, batch: number, int8 = false): Promise<Run> {
  const server = await serve(checkpoint, batch, int8);
  try {
    await load(server.url, body, 3); // warm-up: onnxruntime's allocations and prepacking, sharp's caches
    const r = await load(server.url, body, seconds);
    return {
      max_batch: batch,
      int8,
      requests_per_sec: r.requests.average,
      p50_ms: r.latency.p50,
      p99_ms: r.latency.p99,
      mean_batch: await meanBatch(server.url),
      non_2xx: r.non2xx,
    };
  } finally {
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'vitkit-bench-serve-'));
try {
  const cfg = preset(arch);
  const checkpoint = join(dir, `${arch}.safetensors`);
  saveCheckpoint(checkpoint, { config: cfg, weights: initParameters(cfg, { seed: 0 }) }, 'vitkit');
  // a typical upload: a 320x240 JPEG (smooth colours, so it compresses like a photo)
  const w = 320;
  const h = 240;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set([(i % w) * 0.8, (i / w) | 0, 128], 3 * i);
  const body = await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();

  const unbatched: Run[] = [];
  const batched: Run[] = [];
  const int8: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    unbatched.push(await measure(checkpoint, body, 1));
    batched.push(await measure(checkpoint, body, maxBatch));
    int8.push(await measure(checkpoint, body, maxBatch, true));
  }
  const total = (runs: Run[]): number => runs.reduce((a, x) => a + x.requests_per_sec, 0);
  console.log(
    JSON.stringify({
      arch, connections, seconds, rounds, machine: machine(), batched, unbatched, int8,
      throughput_ratio: total(batched) / total(unbatched),
      int8_throughput_ratio: total(int8) / total(batched),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
