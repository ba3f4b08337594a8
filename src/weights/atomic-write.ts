// Atomic, no-clobber file output: data goes to a temporary file in the target's directory, is fsynced, and only
// then takes the target's name, so a crash never leaves a half-written checkpoint behind.
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.ts';

export interface WriteOptions {
  /** Replace an existing file or directory (otherwise that is a UserError). */
  readonly force?: boolean;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
}

function refuseExisting(path: string): never {
  throw new UserError(`${path} already exists: choose another output path or pass --force to overwrite it`);
}

/** Fails early (before any expensive encoding) when `path` exists and `force` is not set. */
export function assertWritable(path: string, opts: WriteOptions = {}): void {
  if (!opts.force && existsSync(path)) refuseExisting(path);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // some filesystems cannot fsync a directory; the rename itself is still atomic
  } finally {
    closeSync(fd);
  }
}

function writeAndSync(path: string, chunks: readonly (Uint8Array | string)[]): void {
  const fd = openSync(path, 'wx');
  try {
    for (const c of chunks) {
      const bytes = typeof c === 'string' ? Buffer.from(c) : c;
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `chunks` (in order) to `path` atomically: temp file in the same directory + fsync + rename.
 * Without `force` an existing `path` is never replaced, even if it appears while writing (hard link, not rename).
 */
export function writeFileAtomic(path: string, chunks: readonly (Uint8Array | string)[], opts: WriteOptions = {}): void {
  assertWritable(path, opts);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    writeAndSync(tmp, chunks);
    if (opts.force) {
      renameSync(tmp, path);
    } else {
      try {
        linkSync(tmp, path); // fails with EEXIST instead of replacing
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') refuseExisting(path);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
        // a filesystem without hard links (FAT, some network mounts): check, then rename
        assertWritable(path, opts);
        renameSync(tmp, path);
      }
    }
    fsyncDir(dirname(path));
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Writes a directory of files atomically: everything goes into a temporary sibling directory, which is fsynced
 * and renamed into place. With `force` an existing directory at `path` is replaced (moved aside, then removed).
 */
export function writeDirAtomic(path: string, files: Readonly<Record<string, readonly (Uint8Array | string)[]>>, opts: WriteOptions = {}): void {
  assertWritable(path, opts);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const old = `${tmp}.old`;
  mkdirSync(tmp);
  try {
    for (const [name, chunks] of Object.entries(files)) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true }); // names may have folders (onnx/model.onnx)
      writeAndSync(join(tmp, name), chunks);
    }
    fsyncDir(tmp);
    if (existsSync(path)) {
      if (!opts.force) refuseExisting(path);
      renameSync(path, old);
    }
    renameSync(tmp, path);
    fsyncDir(dirname(path));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}
