// pull(id): a Hub model's snapshot folder in the shared cache, downloading on first use only the files a ViT
// needs — config.json (transformers', or timm's with pretrained_cfg), preprocessor_config.json, a CLIP repo's
// tokenizer files, and the weights (.safetensors preferred over .bin, every shard of a sharded model) — as
// huggingface_hub's snapshot_download lays them out. With HF_HUB_OFFLINE=1 the cache alone answers and no socket is
// opened.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError, shown } from '../errors.ts';
import { blobPath, cachedSnapshot, isHubId, linkSnapshotFile, repoDir, snapshotFile, writeRef } from './cache.ts';
import { downloadBlob } from './download.ts';
import { type FileMetadata, type HubAccess, HubClient, HubUnreachableError, isOffline } from './http.ts';

/** How a pull is going: bytes of the weights held so far out of all that had to be downloaded. */
export interface PullProgress {
  readonly file: string;
  readonly done: number;
  readonly total: number;
}

export interface PullOptions extends HubAccess {
  /** Branch, tag or commit hash (default 'main'). */
  readonly revision?: string;
  /** Called as weight bytes arrive (not for files already in the cache). */
  readonly onProgress?: (p: PullProgress) => void;
}

export interface PullResult {
  readonly id: string;
  readonly revision: string;
  readonly commit: string;
  /** The snapshot folder: pass it to loadModel / loadCheckpoint. */
  readonly dir: string;
  /** The files vitkit needs, as they are in `dir`. */
  readonly files: readonly string[];
  /** Bytes downloaded by this call (0 when everything was cached). */
  readonly downloadedBytes: number;
  /** Whether the cache answered alone (HF_HUB_OFFLINE=1, or the Hub was unreachable and the cache had it). */
  readonly fromCache: boolean;
}

/** Read by CLIP zero-shot (src/text/clip-tokenizer.ts) to turn labels into token ids; fetched when the repo lists
 *  them, which image-only repos do not. A few MB at most beside the weights. */
const TOKENIZER = ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** Weight files in order of preference, each alone or as the index of its shards (hf-dir.ts reads the same). */
const WEIGHTS = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'];

/**
 * Makes Hub model `id` (`org/name`) at `opts.revision` available in the local Hugging Face cache and returns its
 * snapshot folder. Files already cached are not downloaded again; a cut download resumes; LFS files are checked
 * against their sha256. Honours HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE.
 */
export async function pull(id: string, opts: PullOptions = {}): Promise<PullResult> {
  if (!isHubId(id)) throw new UserError(`'${id}' is not a Hub model id (expected org/name, e.g. google/vit-base-patch16-224)`);
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? 'main';
  // a revision names a file under refs/: no way out of it
  if (!/^[\w.-]+(\/[\w.-]+)*$/.test(revision) || revision.split('/').includes('..')) {
    throw new UserError(`--revision '${revision}' is not a branch, tag or commit name`);
  }
  if (isOffline(env)) return fromCache(id, revision, env);
  const client = new HubClient(id, opts);
  let listing: { commit: string; files: string[] };
  try {
    listing = await client.revision(revision);
  } catch (e) {
    // like huggingface_hub: without the Hub, a snapshot already cached for this revision still serves
    if (e instanceof HubUnreachableError && cachedSnapshot(id, revision, env)) return fromCache(id, revision, env);
    throw e;
  }
  const { commit, files: listed } = listing;
  const weights = WEIGHTS.find((f) => listed.includes(f));
  if (!listed.includes('config.json') || !weights) {
    const lacks = listed.includes('config.json') ? 'no weights' : 'no config.json';
    throw new UserError(
      `${id} at revision '${revision}' has ${lacks} vitkit can read (expected config.json and one of ${WEIGHTS.join(', ')}): ` +
        'is it a transformers or timm image model?',
    );
  }
  let downloadedBytes = 0;
  const fetchFile = async (file: string, meta: FileMetadata, onBytes: (held: number) => void): Promise<void> => {
    const blob = blobPath(id, meta.etag, env);
    if (!existsSync(blob)) downloadedBytes += await downloadBlob(client, file, meta, blob, onBytes);
    linkSnapshotFile(id, commit, file, meta.etag, env);
  };
  const cached = (file: string): boolean => existsSync(snapshotFile(id, commit, file, env)); // a commit's files never change

  // small files first: a sharded model's index says which shards to fetch
  const small = ['config.json', 'preprocessor_config.json', ...TOKENIZER, ...(weights.endsWith('.json') ? [weights] : [])]
    .filter((f) => listed.includes(f));
  for (const f of small.filter((f) => !cached(f))) await fetchFile(f, await client.metadata(commit, f), () => {});
  const big = weights.endsWith('.json') ? shards(snapshotFile(id, commit, weights, env), listed) : [weights];

  // then the weights, with one progress total over every file still missing
  const missing = big.filter((f) => !cached(f));
  const metas = await Promise.all(missing.map((f) => client.metadata(commit, f)));
  const total = metas.reduce((n, m) => n + (m.size ?? 0), 0);
  let before = 0;
  for (const [i, f] of missing.entries()) {
    await fetchFile(f, metas[i]!, (held) => opts.onProgress?.({ file: f, done: before + held, total }));
    before += metas[i]!.size ?? 0;
  }
  writeRef(id, revision, commit, env);
  const dir = join(repoDir(id, env), 'snapshots', commit);
  return { id, revision, commit, dir, files: [...small, ...big], downloadedBytes, fromCache: false };
}

/** The shard files a `*.index.json` names: plain file names that the repo lists. */
function shards(index: string, listed: readonly string[]): string[] {
  let map: unknown;
  try {
    map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch {
    throw new UserError(`${index} is not valid JSON: the repo's weight index is broken`);
  }
  if (typeof map !== 'object' || map === null) throw new UserError(`${index} has no weight_map: the repo's weight index is broken`);
  const names = [...new Set(Object.values(map))];
  const bad = names.find((n) => typeof n !== 'string' || !listed.includes(n) || n.includes('/'));
  if (bad !== undefined) throw new UserError(`${index} names weight file ${shown(bad)}, which the repo does not have as a top-level file`);
  return names as string[];
}

/** The cached snapshot of `revision` and the files vitkit reads from it, or a one-line error naming the cache. */
function fromCache(id: string, revision: string, env: NodeJS.ProcessEnv): PullResult {
  const dir = cachedSnapshot(id, revision, env);
  if (!dir) {
    throw new UserError(
      `${id} at revision '${revision}' is not in the Hugging Face cache (${repoDir(id, env)}) and HF_HUB_OFFLINE is set: ` +
        'unset HF_HUB_OFFLINE to download it',
    );
  }
  const present = readdirSync(dir);
  const weights = WEIGHTS.find((f) => present.includes(f));
  const files = [
    ...['config.json', 'preprocessor_config.json', ...TOKENIZER].filter((f) => present.includes(f)),
    ...(weights ? [weights] : []),
    ...(weights?.endsWith('.json') ? shards(join(dir, weights), present) : []),
  ];
  return { id, revision, commit: basename(dir), dir, files, downloadedBytes: 0, fromCache: true };
}
