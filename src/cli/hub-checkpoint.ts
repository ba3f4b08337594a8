// The one step every command that takes a checkpoint runs first: a Hub id (org/name) becomes its snapshot folder in
// the Hugging Face cache, downloaded on first use with a progress bar, so the synchronous loaders only see local
// paths. A path that exists stays as it is (a local folder wins over a Hub id of the same name).
import { existsSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { isHubId } from '../hub/cache.ts';
import { type PullResult, pull } from '../hub/pull.ts';
import { type Progress, progressBar } from './progress.ts';

export const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);

/** pull() with a progress bar over the bytes still to download (on a TTY). */
export async function pullWithProgress(id: string, revision?: string): Promise<PullResult> {
  let bar: Progress | undefined;
  try {
    return await pull(id, {
      revision,
      // counted in MB with one decimal, so the bar's {value}/{total} read as sizes
      onProgress: ({ done, total }) => {
        if (!total) return; // sizes the Hub did not announce
        bar ??= progressBar(`downloading ${id}`, Number(megabytes(total)), '{bar} {percentage}% {value}/{total} MB eta {eta_formatted}');
        bar.update(Number(megabytes(done)));
      },
    });
  } finally {
    bar?.stop();
  }
}

/** `spec` as a local path: itself, or a Hub id's snapshot folder at `revision` (default main). */
export async function localCheckpoint(spec: string, revision?: string): Promise<string> {
  if (existsSync(spec) || !isHubId(spec)) return spec;
  let r: PullResult;
  try {
    r = await pullWithProgress(spec, revision);
  } catch (e) {
    // `runs/typo` reads as a Hub id too: say that the local path was looked for first
    if (e instanceof UserError) throw new UserError(`${spec} is not a local path; as a Hub model id: ${e.message}`);
    throw e;
  }
  // on stderr, so --json output stays one object per line
  if (r.downloadedBytes) console.error(`vitkit: downloaded ${megabytes(r.downloadedBytes)} MB of ${spec} (${r.commit.slice(0, 7)}) into ${r.dir}`);
  return r.dir;
}
