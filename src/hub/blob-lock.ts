// One writer per blob: two commands (or a command and a server) fetching the same model on first use would
// otherwise append to the same .incomplete file. The lock is a file created exclusively beside the blob and kept
// fresh while its holder works; one left by a killed process goes stale and is taken over. It is vitkit's own name:
// huggingface_hub locks with flock(), which Node lacks, on files it never deletes (.locks/…/<etag>.lock).
import { closeSync, openSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A lock not refreshed for this long belongs to a process that died. */
const STALE_MS = 60_000;
const POLL_MS = 200;

/** Held lock: `refresh()` while working (cheap, at most once a second), `release()` when done. */
export interface BlobLock {
  refresh(): void;
  release(): void;
}

/** Waits for and takes the lock of `blob`. */
export async function lockBlob(blob: string): Promise<BlobLock> {
  const path = `${blob}.vitkit-lock`;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const age = (() => {
      try {
        return Date.now() - statSync(path).mtimeMs;
      } catch {
        return 0; // released just now: try again
      }
    })();
    if (age > STALE_MS) rmSync(path, { force: true });
    else await sleep(POLL_MS);
  }
  let touched = Date.now();
  return {
    refresh() {
      if (Date.now() - touched < 1000) return;
      touched = Date.now();
      utimesSync(path, touched / 1000, touched / 1000);
    },
    release: () => rmSync(path, { force: true }),
  };
}
