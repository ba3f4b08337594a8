// Checkpoints named by their Hugging Face Hub id (`google/vit-base-patch16-224`,
// `timm/vit_base_patch16_224.augreg2_in21k_ft_in1k`), found in the local cache that huggingface_hub, transformers
// and timm fill: <hub>/models--<org>--<name>/snapshots/<commit>/, with refs/<branch> naming the commit. Nothing is
// downloaded: vitkit runs offline, so a model that is not there is an error saying how to fetch it.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { UserError } from '../errors.ts';

/** Extensions of checkpoint files: a missing `runs/best.safetensors` is a missing file, not a Hub id. */
const FILE_EXTENSIONS = ['.safetensors', '.npz', '.pth', '.pt', '.bin', '.json'];

/** The Hub cache folder, as huggingface_hub picks it: $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

/** Whether `spec` has the shape of a Hub model id, `org/name`. */
export function isHubId(spec: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(spec) && !FILE_EXTENSIONS.includes(extname(spec).toLowerCase());
}

/**
 * The snapshot folder of Hub model `id` at `revision` (a branch or tag in refs/, or a commit hash; default
 * 'main') in the local cache. A missing model or revision is a UserError naming the folder and how to fill it.
 */
export function resolveHubId(id: string, revision = 'main', env: NodeJS.ProcessEnv = process.env): string {
  const hub = hubCacheDir(env);
  const repo = join(hub, `models--${id.replace('/', '--')}`);
  const fetch = `fetch it with \`huggingface-cli download ${id}${revision === 'main' ? '' : ` --revision ${revision}`}\``;
  if (!existsSync(repo)) {
    throw new UserError(`${id} is neither a local path nor a model in the Hugging Face cache (no ${repo}): check the path, or ${fetch}`);
  }
  const ref = join(repo, 'refs', revision);
  const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : revision;
  const snapshot = join(repo, 'snapshots', commit);
  if (!existsSync(snapshot)) {
    const have = existsSync(join(repo, 'refs')) ? readdirSync(join(repo, 'refs')) : [];
    throw new UserError(`${id}: revision '${revision}' is not in the Hugging Face cache (${repo} has ${have.length ? `refs ${have.join(', ')}` : 'no refs'}): ${fetch}`);
  }
  return snapshot;
}

/** A checkpoint path as given when it exists (a local folder wins over a Hub id), else a Hub id's cached snapshot. */
export function resolveCheckpointPath(spec: string, revision?: string): string {
  if (existsSync(spec) || !isHubId(spec)) return spec;
  return resolveHubId(spec, revision);
}
