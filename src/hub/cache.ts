// The Hugging Face Hub cache as huggingface_hub lays it out, so Python and vitkit share one cache either way round:
//   <hub>/models--<org>--<name>/blobs/<etag>                 file contents, named by their ETag (sha256 for LFS files)
//   <hub>/models--<org>--<name>/snapshots/<commit>/<file>   relative links to ../../blobs/<etag> (copies where links fail)
//   <hub>/models--<org>--<name>/refs/<branch or tag>        the commit that revision resolved to, no newline
// Reading is synchronous (loaders run on a snapshot folder); writing a blob is download.ts's job.
import {
  copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, join, relative } from 'node:path';
import { UserError } from '../errors.ts';

/** Extensions of checkpoint files: a missing `runs/best.safetensors` is a missing file, not a Hub id. */
const FILE_EXTENSIONS = ['.safetensors', '.npz', '.pth', '.pt', '.bin', '.json'];

/**
 * The Hub cache folder, as huggingface_hub picks it: $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * ~/.cache/huggingface/hub.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(hfHome(env), 'hub');
}

/** huggingface_hub's home folder (its token file lives there too). */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
}

/** Whether `spec` has the shape of a Hub model id, `org/name`. */
export function isHubId(spec: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(spec) && !FILE_EXTENSIONS.includes(extname(spec).toLowerCase());
}

/** A model's folder in the cache: models--org--name. */
export function repoDir(id: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(hubCacheDir(env), `models--${id.replace('/', '--')}`);
}

/** A commit hash (what refs/ resolves a branch or tag to), as opposed to a branch or tag name. */
export const isCommitHash = (revision: string): boolean => /^[0-9a-f]{40}$/.test(revision);

/** The commit `revision` names in the cache (a ref file, or the hash itself), or undefined when unknown. */
export function cachedCommit(id: string, revision: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ref = join(repoDir(id, env), 'refs', revision);
  if (existsSync(ref)) return readFileSync(ref, 'utf8').trim();
  return existsSync(join(repoDir(id, env), 'snapshots', revision)) ? revision : undefined;
}

/** The snapshot folder of `revision` when the cache has it. */
export function cachedSnapshot(id: string, revision: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const commit = cachedCommit(id, revision, env);
  const dir = commit && join(repoDir(id, env), 'snapshots', commit);
  return dir && existsSync(dir) ? dir : undefined;
}

/**
 * The snapshot folder of Hub model `id` at `revision` (a branch or tag in refs/, or a commit hash; default
 * 'main') in the local cache. A missing model or revision is a UserError naming the folder and how to fill it.
 */
export function resolveHubId(id: string, revision = 'main', env: NodeJS.ProcessEnv = process.env): string {
  const repo = repoDir(id, env);
  const command = `vitkit pull ${id}${revision === 'main' ? '' : ` --revision ${revision}`}`;
  const fetch = `download it with \`${command}\` (or pull() in the API)`;
  if (!existsSync(repo)) {
    throw new UserError(`${id} is neither a local path nor a model in the Hugging Face cache (no ${repo}): check the path, or ${fetch}`);
  }
  const snapshot = cachedSnapshot(id, revision, env);
  if (!snapshot) {
    const have = existsSync(join(repo, 'refs')) ? readdirSync(join(repo, 'refs')) : [];
    const refs = have.length ? `refs ${have.join(', ')}` : 'no refs';
    throw new UserError(`${id}: revision '${revision}' is not in the Hugging Face cache (${repo} has ${refs}): ${fetch}`);
  }
  return snapshot;
}

/** A checkpoint path as given when it exists (a local folder wins over a Hub id), else a Hub id's cached snapshot. */
export function resolveCheckpointPath(spec: string, revision?: string): string {
  if (existsSync(spec) || !isHubId(spec)) return spec;
  return resolveHubId(spec, revision);
}

/** Where the blob with `etag` lives (and `<blob>.incomplete` while it downloads). */
export function blobPath(id: string, etag: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(repoDir(id, env), 'blobs', etag);
}

/** The path of `file` in the snapshot of `commit`. */
export function snapshotFile(id: string, commit: string, file: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(repoDir(id, env), 'snapshots', commit, file);
}

/** Points snapshots/<commit>/<file> at its blob with a relative link, as huggingface_hub does; a copy where links fail. */
export function linkSnapshotFile(id: string, commit: string, file: string, etag: string, env: NodeJS.ProcessEnv = process.env): void {
  const pointer = snapshotFile(id, commit, file, env);
  const blob = blobPath(id, etag, env);
  mkdirSync(dirname(pointer), { recursive: true });
  rmSync(pointer, { force: true });
  try {
    symlinkSync(relative(dirname(pointer), blob), pointer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    copyFileSync(blob, pointer); // Windows without developer mode, some network filesystems
  }
}

/** Records that `revision` (a branch or tag) resolved to `commit`, so offline runs find it. */
export function writeRef(id: string, revision: string, commit: string, env: NodeJS.ProcessEnv = process.env): void {
  if (revision === commit) return;
  const ref = join(repoDir(id, env), 'refs', revision);
  if (existsSync(ref) && readFileSync(ref, 'utf8').trim() === commit) return;
  mkdirSync(dirname(ref), { recursive: true }); // tags may have folders (refs/pr/1)
  // a ref is replaced whole (temp file + rename), never seen half-written; weights/atomic-write sits above this layer
  const tmp = `${ref}.${process.pid}.tmp`;
  writeFileSync(tmp, commit);
  renameSync(tmp, ref);
}
