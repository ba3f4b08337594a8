// The Hub's HTTP protocol as huggingface_hub speaks it, on Node's fetch: a revision's commit and file list from
// /api/models/{id}/revision/{rev}; a file's metadata from HEAD /{id}/resolve/{rev}/{file} (X-Repo-Commit, and
// X-Linked-Etag — the sha256 of an LFS file, whose answer is a redirect to a CDN — or ETag); its bytes from a GET
// that follows the redirect, with Range to resume. Every failure becomes a one-line UserError saying what to do.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, shown } from '../errors.ts';
import { hfHome, hubCacheDir, isCommitHash } from './cache.ts';

/** Where and as whom to reach the Hub. */
export interface HubAccess {
  /** The Hub's address (default $HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Token for private and gated repos (default $HF_TOKEN, else the one `huggingface-cli login` saved). */
  readonly token?: string;
  /** Environment to read HF_* settings from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** The Hub could not be reached at all (as opposed to answering with an error): a cached copy may still serve. */
export class HubUnreachableError extends UserError {
  override name = 'HubUnreachableError';
}

/** What HEAD says about one file at one commit. */
export interface FileMetadata {
  readonly commit: string;
  /** The blob's name in the cache: the sha256 for LFS files, the git blob hash otherwise. */
  readonly etag: string;
  readonly size?: number;
}

/** huggingface_hub's truthy spellings of a boolean environment variable. */
const truthy = (v: string | undefined): boolean => ['1', 'on', 'yes', 'true'].includes((v ?? '').toLowerCase());

/** Whether HF_HUB_OFFLINE forbids the network (then no socket is opened at all). */
export const isOffline = (env: NodeJS.ProcessEnv = process.env): boolean => truthy(env.HF_HUB_OFFLINE);

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v * 1000 : fallback * 1000;
}

/** A client for one model repo, with the endpoint, token and timeouts settled once. */
export class HubClient {
  readonly endpoint: string;
  private readonly token?: string;
  /** HF_HUB_ETAG_TIMEOUT: seconds to wait for metadata (huggingface_hub's default 10). */
  private readonly metadataMs: number;
  /** HF_HUB_DOWNLOAD_TIMEOUT: seconds a download may go without a byte (huggingface_hub's default 10). */
  readonly idleMs: number;
  private readonly cacheDir: string;

  constructor(readonly id: string, access: HubAccess = {}) {
    const env = access.env ?? process.env;
    this.endpoint = (access.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
    const tokenFile = env.HF_TOKEN_PATH ?? join(hfHome(env), 'token');
    const saved = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
    this.token = access.token ?? (env.HF_TOKEN || saved || undefined);
    this.metadataMs = seconds(env, 'HF_HUB_ETAG_TIMEOUT', 10);
    this.idleMs = seconds(env, 'HF_HUB_DOWNLOAD_TIMEOUT', 10);
    this.cacheDir = hubCacheDir(env);
  }

  /** The commit a branch, tag or hash names, and the repo's file list at it. */
  async revision(revision: string): Promise<{ commit: string; files: string[] }> {
    const url = `${this.endpoint}/api/models/${this.id}/revision/${encodeURIComponent(revision)}`;
    const res = await this.request(url, { signal: AbortSignal.timeout(this.metadataMs) }, revision);
    const body = (await res.json().catch(() => ({}))) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
    if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) {
      throw this.notAHub(url, 'did not answer with a commit and a file list');
    }
    // the commit names a folder in snapshots/: a hash only
    if (!isCommitHash(body.sha)) throw this.notAHub(url, `answered commit ${shown(body.sha)}, not a 40-digit hash`);
    const files = body.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === 'string');
    return { commit: body.sha, files };
  }

  /**
   * HEAD of a file: its commit, ETag and size. Redirects to the same host (a renamed repo) are followed; one to
   * another host (the CDN of an LFS file) is not: its answer carries the metadata, and the token stays on the Hub.
   */
  async metadata(revision: string, file: string): Promise<FileMetadata> {
    let url = this.resolveUrl(revision, file);
    for (let hops = 0; ; hops++) {
      const init: RequestInit = { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(this.metadataMs) };
      const res = await this.request(url, init, revision, file);
      const location = res.headers.get('location');
      const target = location ? new URL(location, url) : undefined;
      if (res.status >= 300 && res.status < 400 && target?.hostname === new URL(url).hostname && hops < 5) {
        url = target.href;
        continue;
      }
      const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag'))?.replace(/^W\//, '').replace(/"/g, '');
      const commit = res.headers.get('x-repo-commit');
      // the ETag names a file in blobs/: a plain name only
      if (!etag || !/^[\w-]+$/.test(etag) || !commit) throw this.notAHub(url, 'answered without a usable ETag or X-Repo-Commit');
      const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length'));
      return { commit, etag, ...(Number.isFinite(size) && size >= 0 ? { size } : {}) };
    }
  }

  /** GET of a file from byte `start` on (redirects followed); the caller reads the body within `signal`. */
  async open(commit: string, file: string, start: number, signal: AbortSignal): Promise<Response> {
    const headers = start > 0 ? { range: `bytes=${start}-` } : undefined;
    return this.request(this.resolveUrl(commit, file), { headers, signal }, commit, file, [416]);
  }

  private resolveUrl(revision: string, file: string): string {
    const path = file.split('/').map(encodeURIComponent).join('/');
    return `${this.endpoint}/${this.id}/resolve/${encodeURIComponent(revision)}/${path}`;
  }

  /** fetch with the token, identity encoding (sizes and hashes are of the bytes as stored) and one-line errors. */
  private async request(url: string, init: RequestInit, revision: string, file?: string, allowed: number[] = []): Promise<Response> {
    const auth: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const headers = { 'accept-encoding': 'identity', ...auth, ...(init.headers as Record<string, string>) };
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers });
    } catch (e) {
      throw this.unreachable(e);
    }
    if (res.ok || (res.status >= 300 && res.status < 400) || allowed.includes(res.status)) return res;
    await res.body?.cancel();
    const what = `${this.id}${file ? ` file ${file}` : ''} at revision '${revision}'`;
    if (res.status === 401 || res.status === 403) {
      const fix = this.token
        ? 'the token in HF_TOKEN was refused: use one that can read this repo (and accept its terms if gated)'
        : 'if it is private or gated, set HF_TOKEN to a token that can read it';
      throw new UserError(`${this.endpoint} refused ${what} (HTTP ${res.status}; the repo may not exist): ${fix}`);
    }
    if (res.status === 404) {
      const why = {
        RepoNotFound: `no model ${this.id} (HTTP 404 for revision '${revision}'): check the model id`,
        RevisionNotFound: `no revision '${revision}' of ${this.id} (HTTP 404): check --revision (a branch, tag or commit)`,
      }[res.headers.get('x-error-code') ?? ''] ?? `no ${what} (HTTP 404): check the model id and --revision`;
      throw new UserError(`${this.endpoint} has ${why}`);
    }
    throw new HubUnreachableError(
      `${this.endpoint} answered HTTP ${res.status} for ${what}: try again later, or set HF_HUB_OFFLINE=1 to use only the cache (${this.cacheDir})`,
    );
  }

  private notAHub(url: string, what: string): UserError {
    return new UserError(`${url} ${what}: is HF_ENDPOINT (${this.endpoint}) a Hugging Face Hub?`);
  }

  /** A network failure as one line naming the offline switch and the cache folder. */
  unreachable(e: unknown): HubUnreachableError {
    const err = e as Error & { cause?: { code?: string } };
    const why = err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timed out' : (err.cause?.code ?? err.message);
    return new HubUnreachableError(
      `cannot reach ${this.endpoint} to download ${this.id} (${why}): check the network or HF_ENDPOINT, ` +
        `or set HF_HUB_OFFLINE=1 to use only what is in the cache (${this.cacheDir})`,
    );
  }
}
