// A local stand-in for the Hugging Face Hub, shaped like the real one where clients look: the revision and tree APIs,
// HEAD/GET /{id}/resolve/{rev}/{file} with X-Repo-Commit and ETag (git blob sha1), LFS files (.safetensors, .bin)
// answered by a redirect to a "CDN" path with X-Linked-Etag (their sha256) and X-Linked-Size, Range requests on
// the CDN, private repos behind a Bearer token, and 401/404s with X-Error-Code. Faults on demand: cut a
// connection after some bytes, corrupt a file's bytes. Every request and connection is recorded.
import { createHash } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSafetensors } from '../../src/weights/safetensors-codec.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { FIXTURES } from '../fixtures.ts';

export interface HubRepo {
  readonly commit: string;
  readonly files: Record<string, Buffer>;
  /** Branch and tag names besides 'main' (which names `commit`). */
  readonly refs?: Record<string, string>;
  /** A private repo: only this Bearer token may read it. */
  readonly token?: string;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly authorization?: string;
}

export interface HubServer {
  readonly endpoint: string;
  readonly requests: LoggedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** file name → bytes after which the next CDN answer for it drops the connection (once). */
  readonly cutAfter: Map<string, number>;
  /** file names whose CDN bytes are served with one byte flipped. */
  readonly corrupt: Set<string>;
  close(): Promise<void>;
}

const isLfs = (file: string): boolean => /\.(safetensors|bin)$/.test(file);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** What the Hub sends as a regular file's ETag: its git blob id. */
const gitBlobId = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export async function startHubServer(repos: Record<string, HubRepo>): Promise<HubServer> {
  const requests: LoggedRequest[] = [];
  const cutAfter = new Map<string, number>();
  const corrupt = new Set<string>();
  const byHash = new Map<string, { file: string; bytes: Buffer }>();
  for (const repo of Object.values(repos)) {
    for (const [file, bytes] of Object.entries(repo.files)) if (isLfs(file)) byHash.set(sha256(bytes), { file, bytes });
  }

  const fail = (res: ServerResponse, status: number, code: string): void => {
    res.writeHead(status, { 'x-error-code': code, 'content-type': 'application/json' }).end(JSON.stringify({ error: code }));
  };

  /** The repo and commit a request may see, or undefined after answering with the Hub's error. */
  function lookup(req: IncomingMessage, res: ServerResponse, id: string, rev: string): { repo: HubRepo; commit: string } | undefined {
    const repo = repos[id];
    if (repo?.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) {
      fail(res, 401, 'RepoNotFound'); // as the Hub: a private repo is indistinguishable from a missing one
      return undefined;
    }
    if (!repo) {
      fail(res, 404, 'RepoNotFound');
      return undefined;
    }
    const commit = rev === 'main' ? repo.commit : (repo.refs?.[rev] ?? (rev === repo.commit ? rev : undefined));
    if (!commit) fail(res, 404, 'RevisionNotFound');
    return commit ? { repo, commit } : undefined;
  }

  function cdn(req: IncomingMessage, res: ServerResponse, hash: string): void {
    const entry = byHash.get(hash);
    if (!entry) return fail(res, 404, 'EntryNotFound');
    let bytes = entry.bytes;
    if (corrupt.has(entry.file)) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] ^= 0xff;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= bytes.length && bytes.length) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    const body = bytes.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': body.length, etag: `"${hash}"`, 'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const cut = cutAfter.get(entry.file);
    if (cut === undefined) return void res.end(body);
    cutAfter.delete(entry.file);
    res.write(body.subarray(0, cut), () => res.socket?.destroy());
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? '', path, range: req.headers.range, authorization: req.headers.authorization });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
    const lfs = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (api) {
      const found = lookup(req, res, api[1]!, api[2]!);
      if (!found) return;
      const siblings = Object.keys(found.repo.files).map((rfilename) => ({ rfilename }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: api[1], sha: found.commit, siblings }));
    } else if (tree) {
      // huggingface_hub's snapshot_download lists this way (vitkit asks the revision API): files only, no folders
      const found = lookup(req, res, tree[1]!, tree[2]!);
      if (!found) return;
      const entries = Object.entries(found.repo.files).map(([file, bytes]) => ({
        type: 'file', path: file, size: bytes.length, oid: gitBlobId(bytes),
        ...(isLfs(file) ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}),
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(entries));
    } else if (resolve) {
      const found = lookup(req, res, resolve[1]!, resolve[2]!);
      if (!found) return;
      const bytes = found.repo.files[resolve[3]!];
      if (!bytes) return fail(res, 404, 'EntryNotFound');
      const common = { 'x-repo-commit': found.commit };
      if (isLfs(resolve[3]!)) {
        const hash = sha256(bytes);
        res.writeHead(302, {
          ...common, location: `http://localhost:${port()}/cdn/${hash}`, etag: `"${gitBlobId(Buffer.from(hash))}"`,
          'x-linked-etag': `"${hash}"`, 'x-linked-size': bytes.length, 'content-length': 0,
        }).end();
        return;
      }
      res.writeHead(200, { ...common, etag: `"${gitBlobId(bytes)}"`, 'content-length': bytes.length });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    } else if (lfs) {
      cdn(req, res, lfs[1]!);
    } else {
      fail(res, 404, 'NotFound');
    }
  });
  // the "CDN" is this server under another host name, as the Hub's is another host: clients must not send it the token
  const port = (): number => (server.address() as AddressInfo).port;
  let connections = 0;
  server.on('connection', () => void connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port()}`,
    requests,
    get connections() {
      return connections;
    },
    cutAfter,
    corrupt,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const MICRO = `${FIXTURES}micro_p16_224`;
export const COMMIT = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
export const TIMM_CONFIG = {
  architecture: 'vit_micro_test', num_classes: 10, num_features: 64, global_pool: 'token', model_args: { num_heads: 2 },
  label_names: Array.from({ length: 10 }, (_, i) => `class ${i}`),
  // mean = std = 0.5 and no crop margin at 224 px: the fixture's own preprocessing of img_0.png
  pretrained_cfg: {
    tag: 'test', input_size: [3, 224, 224], interpolation: 'bicubic', crop_pct: 1, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
    num_classes: 10,
  },
};

/** The CLIP tokenizer fixture's files as a Hub repo lists them (made by test/fixtures/clip-tokenizer/make_fixtures.py). */
export const CLIP_TOKENIZER_FILES = (() => {
  const dir = fileURLToPath(new URL('../fixtures/clip-tokenizer/', import.meta.url));
  const files = ['vocab.json', 'merges.txt', 'json/tokenizer.json', 'json/tokenizer_config.json'];
  const map = { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '!' };
  return {
    ...Object.fromEntries(files.map((f) => [f.replace('json/', ''), readFileSync(join(dir, f))])),
    'special_tokens_map.json': Buffer.from(JSON.stringify(map)),
  };
})();

/**
 * Hub repos made from the micro_p16_224 fixture: a transformers repo (with files vitkit must not fetch), a timm
 * repo (timm's config.json; a .bin beside the .safetensors), a sharded transformers repo, a private copy, and a
 * repo with the CLIP tokenizer fixture's files beside the model's.
 */
export function fixtureRepos(): Record<string, HubRepo> {
  const hf = Object.fromEntries(['config.json', 'model.safetensors', 'preprocessor_config.json'].map((f) => [f, readFileSync(join(MICRO, 'hf', f))]));
  const extras = { 'README.md': Buffer.from('# micro'), 'tf_model.h5': Buffer.alloc(64), 'onnx/model.onnx': Buffer.alloc(64) };
  const { tensors } = readSafetensors(join(MICRO, 'hf', 'model.safetensors'));
  const names = [...tensors.keys()];
  const half = (part: number) => new Map(names.filter((_, i) => i % 2 === part).map((n) => [n, tensors.get(n)!]));
  const shard = (i: number) => `model-0000${i + 1}-of-00002.safetensors`;
  const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n, i) => [n, shard(i % 2)])) };
  return {
    'google/vit-micro': { commit: COMMIT, files: { ...hf, ...extras }, refs: { v1: COMMIT } },
    'timm/vit_micro_test.in1k': {
      commit: COMMIT,
      files: {
        'config.json': Buffer.from(JSON.stringify(TIMM_CONFIG)),
        'model.safetensors': readFileSync(join(MICRO, 'timm.safetensors')),
        'pytorch_model.bin': Buffer.alloc(64),
      },
    },
    'google/vit-micro-sharded': {
      commit: COMMIT,
      files: {
        'config.json': hf['config.json']!, 'preprocessor_config.json': hf['preprocessor_config.json']!,
        'model.safetensors.index.json': Buffer.from(JSON.stringify(index)),
        [shard(0)]: Buffer.concat(encodeSafetensors(half(0))), [shard(1)]: Buffer.concat(encodeSafetensors(half(1))),
      },
    },
    'acme/vit-micro-private': { commit: COMMIT, files: hf, token: 'hf_secret' },
    'openai/clip-micro': { commit: COMMIT, files: { ...hf, ...extras, ...CLIP_TOKENIZER_FILES, 'added_tokens.json': Buffer.from('{}') } },
    // an older timm repo: the state dict as a PyTorch pickle only (torch.save of micro_gray_p4_28's timm weights)
    'timm/vit_gray_test.bin_only': {
      commit: COMMIT,
      files: {
        'config.json': Buffer.from(
          JSON.stringify({
            ...TIMM_CONFIG,
            model_args: { num_heads: 4 },
            pretrained_cfg: { ...TIMM_CONFIG.pretrained_cfg, input_size: [1, 28, 28] },
          }),
        ),
        'pytorch_model.bin': readFileSync(fileURLToPath(new URL('../fixtures/weights/micro_gray_p4_28.pth', import.meta.url))),
      },
    },
  };
}
