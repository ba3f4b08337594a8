// One file of the Hub into the cache's blobs/, as huggingface_hub does it: streamed to <etag>.incomplete (never
// held in memory), resumed with Range after a cut connection — in this run or a later one —, checked against its
// size and, for LFS files whose ETag is their sha256, against that hash; only then renamed to blobs/<etag>.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { lockBlob } from './blob-lock.ts';
import { type FileMetadata, type HubClient, HubUnreachableError } from './http.ts';

/** Tries per file (the first and four resumes), as huggingface_hub's http_get retries. */
const ATTEMPTS = 5;

/** The ETag of an LFS file is its sha256: then the bytes can be checked. */
const isSha256 = (etag: string): boolean => /^[0-9a-f]{64}$/.test(etag);

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

/**
 * Downloads `file` at `meta.commit` into `blob` (a path in blobs/), reporting the bytes held so far with
 * `onBytes(held)`; returns the bytes that came over the network (fewer than the file's when resumed). Throws a
 * UserError when the Hub cannot be reached after the retries (the partial file stays for the next run to resume)
 * or when the bytes do not match the Hub's size or sha256 (the partial file goes).
 */
export async function downloadBlob(
  client: HubClient, file: string, meta: FileMetadata, blob: string, onBytes: (held: number) => void,
): Promise<number> {
  mkdirSync(dirname(blob), { recursive: true });
  const lock = await lockBlob(blob);
  try {
    // another process may have finished it while this one waited
    return existsSync(blob) ? 0 : await download(client, file, meta, blob, (held) => {
      lock.refresh();
      onBytes(held);
    });
  } finally {
    lock.release();
  }
}

async function download(client: HubClient, file: string, meta: FileMetadata, blob: string, onBytes: (held: number) => void): Promise<number> {
  const partial = `${blob}.incomplete`;
  let lastError: unknown;
  let received = 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const have = sizeOf(partial);
    if (meta.size !== undefined && have > meta.size) rmSync(partial); // not a prefix of this file
    if (have === meta.size && have > 0) break; // complete: a run stopped before checking it
    if (attempt > 0) await sleep(500 * attempt); // a server in trouble gets a moment
    try {
      await fetchInto(client, file, meta, partial, (held, fresh) => {
        received += fresh;
        onBytes(held);
      });
      lastError = undefined;
      break;
    } catch (e) {
      if (!(e instanceof HubUnreachableError)) throw e;
      lastError = e;
    }
  }
  if (lastError !== undefined) throw lastError;
  const held = sizeOf(partial);
  const refuse = (why: string): never => {
    rmSync(partial, { force: true });
    throw new UserError(`${client.id} file ${file}: ${why} (corrupted on the way): it was not kept; run the command again`);
  };
  if (meta.size !== undefined && held !== meta.size) refuse(`got ${held} bytes, the Hub announced ${meta.size}`);
  if (isSha256(meta.etag)) {
    const got = await sha256Of(partial);
    if (got !== meta.etag) refuse(`sha256 ${got} differs from the Hub's ${meta.etag}`);
  }
  renameSync(partial, blob);
  return received;
}

/** One GET from where `partial` ends, appended to it (or restarting it when the server ignores Range). */
async function fetchInto(
  client: HubClient, file: string, meta: FileMetadata, partial: string, onBytes: (held: number, fresh: number) => void,
): Promise<void> {
  let held = sizeOf(partial);
  // aborts a download that goes HF_HUB_DOWNLOAD_TIMEOUT without a byte (the connection may hang, not close)
  const stall = new AbortController();
  let timer = setTimeout(() => stall.abort(), client.idleMs);
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), client.idleMs);
  };
  const out = await open(partial, held > 0 ? 'a' : 'w');
  try {
    const res = await client.open(meta.commit, file, held, stall.signal);
    if (res.status === 416) {
      // the partial file is not a prefix the server can continue: start over on the next try
      await res.body?.cancel();
      await out.truncate(0);
      throw new HubUnreachableError(`${client.endpoint} could not resume ${file}`);
    }
    if (res.status !== 206 && held > 0) {
      await out.truncate(0);
      held = 0;
    }
    onBytes(held, 0);
    const body = res.body;
    if (!body) throw new HubUnreachableError(`${client.endpoint} sent no body for ${file}`);
    for await (const chunk of body) {
      alive();
      await out.write(chunk, 0, chunk.length, held);
      held += chunk.length;
      onBytes(held, chunk.length);
    }
  } catch (e) {
    throw e instanceof UserError ? e : client.unreachable(e);
  } finally {
    clearTimeout(timer);
    await out.close();
  }
}
