// vitkit pull ORG/NAME: download a Hub model's config and weights into the shared Hugging Face cache.
import { UserError } from '../errors.ts';
import { parseCommand } from './args.ts';
import { megabytes, pullWithProgress } from './hub-checkpoint.ts';
import { printJson } from './json-output.ts';

const help = `
Usage: vitkit pull ORG/NAME [--revision R] [--json]

Downloads what vitkit needs of a Hugging Face Hub model — config.json, preprocessor_config.json and the weights
(.safetensors preferred over .bin, every shard) — into the cache huggingface_hub shares with transformers and timm
($HF_HUB_CACHE, else $HF_HOME/hub, default ~/.cache/huggingface/hub), and prints the snapshot folder. Files already
there are not downloaded again; an interrupted download resumes; LFS files are checked against their sha256. Every
command that takes a checkpoint does this by itself on first use; pull does it ahead of time (e.g. before going
offline).
  --revision R   branch, tag or commit (default main)
  --json         print {"id", "revision", "commit", "dir", "files", "downloaded_bytes", "from_cache"}
Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (private and gated repos; else the token
\`huggingface-cli login\` saved), HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE=1 (use only the cache, no network).
`;

const options = { revision: { type: 'string' }, json: { type: 'boolean' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('pull', argv, options, help);
  if (!args) return;
  const [id, ...extra] = args.positionals;
  if (!id || extra.length) throw new UserError('pull: give exactly one Hub model id, e.g. vitkit pull google/vit-base-patch16-224');
  const r = await pullWithProgress(id, args.values.revision);
  if (args.values.json) {
    printJson({ ...r });
    return;
  }
  const how = r.fromCache
    ? 'from the cache (not checked against the Hub)'
    : r.downloadedBytes
      ? `downloaded ${megabytes(r.downloadedBytes)} MB`
      : 'up to date';
  console.log(`${id} ${r.revision} (${r.commit.slice(0, 7)}): ${how}: ${r.files.join(', ')}`);
  console.log(r.dir);
}
