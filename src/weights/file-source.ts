// A ByteSource over an open file: ranged reads, so multi-GB checkpoints never have to fit in one Buffer.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type ByteSource, checkRange, corrupt } from './byte-source.ts';

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
