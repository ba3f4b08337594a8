// Random access to a checkpoint's bytes, from memory or from an open file: readers fetch only the ranges they
// need, so multi-GB files never have to fit in one Buffer (readFileSync stops at 2 GiB).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.ts';

/** A read-only byte range reader; `name` is the file path used in error messages. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length); a range past the end is a truncated file (UserError). */
  read(offset: number, length: number): Uint8Array;
}

function checkRange(src: ByteSource, offset: number, length: number, what: string): void {
  if (offset < 0 || length < 0 || offset + length > src.size) {
    throw new UserError(
      `${src.name} is truncated or corrupt (${what} needs bytes ${offset}..${offset + length}, file has ${src.size}): re-download or re-export it`,
    );
  }
}

/** Wraps bytes already in memory. */
export function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset, length) {
      checkRange(this, offset, length, 'a read');
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** Opens a file for ranged reads, runs `use`, and closes it again. */
export function withFileSource<T>(path: string, use: (src: ByteSource) => T): T {
  const fd = openSync(path, 'r');
  try {
    const src: ByteSource = {
      name: path,
      size: fstatSync(fd).size,
      read(offset, length) {
        checkRange(this, offset, length, 'a read');
        const out = Buffer.allocUnsafe(length);
        for (let done = 0; done < length; ) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0) throw corrupt(this, `file ended at byte ${offset + done} while reading`); // it shrank under us
          done += n;
        }
        return out;
      },
    };
    return use(src);
  } finally {
    closeSync(fd);
  }
}

/** A UserError for a file whose structure is wrong, in the one-line form the CLI prints. */
export function corrupt(src: { name: string }, problem: string): UserError {
  return new UserError(`${src.name} is corrupt (${problem}): re-download or re-export it`);
}
