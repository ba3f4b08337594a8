// Random access to a checkpoint's bytes: readers fetch only the ranges they need, so multi-GB files never have to
// fit in one Buffer (readFileSync stops at 2 GiB; file-source.ts reads files so). No `node:` imports: the browser
// parses checkpoint bytes through the same readers.
import { UserError } from '../errors.ts';

/** A read-only byte range reader; `name` is the file path used in error messages. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length); a range past the end is a truncated file (UserError). */
  read(offset: number, length: number): Uint8Array;
}

export function checkRange(src: ByteSource, offset: number, length: number, what: string): void {
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

/** A UserError for a file whose structure is wrong, in the one-line form the CLI prints. */
export function corrupt(src: { name: string }, problem: string): UserError {
  return new UserError(`${src.name} is corrupt (${problem}): re-download or re-export it`);
}
