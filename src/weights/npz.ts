// NumPy archives: .npz is a zip of .npy members (header dict + raw data), the format of Google's ViT release.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { numel } from '../graph/tensor.ts';
import { type ByteSource, bufferSource, corrupt } from './byte-source.ts';
import { withFileSource } from './file-source.ts';
import { type RawType, decodeTensor, encodeTensor, rawBytes } from './decode.ts';
import { encodeZip, readZip } from './zip.ts';
import { permute } from './layout.ts';
import { type WriteOptions, writeFileAtomic } from './atomic-write.ts';
import { UserError } from '../errors.ts';

const MAGIC = '\x93NUMPY';

const descrs: Readonly<Record<string, RawType>> = {
  '<f4': 'F32', '<f8': 'F64', '<f2': 'F16', '<i8': 'I64', '<i4': 'I32', '|u1': 'U8', '|b1': 'BOOL',
};
const descrOf: Readonly<Record<RawType, string>> = Object.fromEntries(Object.entries(descrs).map(([d, r]) => [r, d])) as Record<RawType, string>;
/** numpy's own limit on header length when reading (np.load's max_header_size); real headers are ~100 bytes. */
const MAX_HEADER = 10_000;

/** What a .npy header says: the dtype, shape and order, and where the data start and how long they are. */
interface NpyHeader {
  readonly raw: RawType;
  readonly shape: number[];
  readonly fortran: boolean;
  /** Offset of the data: the preamble and header dict before it. */
  readonly start: number;
  /** Data bytes: shape × dtype size. */
  readonly size: number;
}

/** The longest preamble (magic, version, header length) plus header that vitkit reads. */
const MAX_NPY_HEAD = 12 + MAX_HEADER;

/** Parses a .npy file's header from its first bytes (MAX_NPY_HEAD suffice). `name` is used in errors. */
function npyHeader(bytes: Uint8Array, name: string): NpyHeader {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC) {
    throw new UserError(`${name} is not a .npy array (bad magic): re-export it with numpy.save`);
  }
  const major = buf[6]!;
  if (major < 1 || major > 3) throw new UserError(`${name} uses .npy format version ${major} (vitkit reads 1–3): re-save it with a current numpy`);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) throw new UserError(`${name} is truncated inside its .npy header: re-download or re-export it`);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  if (hlen > MAX_HEADER) {
    throw new UserError(`${name} has a .npy header of ${hlen} bytes (numpy writes under ${MAX_HEADER}): re-export it with numpy.save`);
  }
  const start = 8 + lenBytes + hlen;
  if (start > buf.length) {
    throw new UserError(
      `${name} is truncated (.npy header says ${hlen} bytes, only ${buf.length - 8 - lenBytes} present): re-download or re-export it`,
    );
  }
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, start);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UserError(`${name} has an unreadable .npy header: re-export it with numpy.save`);
  }
  if (descr.includes('O')) {
    throw new UserError(
      `${name} holds Python objects (dtype '${descr}'), which only unpickling could read and vitkit never does ` +
        "(numpy's allow_pickle=False): save numeric arrays",
    );
  }
  const raw = Object.hasOwn(descrs, descr) ? descrs[descr] : undefined;
  if (!raw) {
    throw new UserError(`${name} has dtype '${descr}' (vitkit reads ${Object.keys(descrs).join(', ')}): convert it with numpy's astype('<f4')`);
  }
  const dims = shapeText.split(',').map((s) => s.trim());
  if (dims.at(-1) === '') dims.pop(); // '(3,)' and '()'
  const shape = dims.map((d) => (/^\d{1,15}$/.test(d) ? Number(d) : NaN));
  if (!shape.every(Number.isSafeInteger)) {
    throw new UserError(`${name} has an invalid .npy shape (${shapeText}) (expected non-negative integers): re-export it with numpy.save`);
  }
  return { raw, shape, fortran: fortran === 'True', start, size: numel(shape) * rawBytes[raw] };
}

/** Parses one .npy file (format versions 1–3, little-endian, C or Fortran order). `name` is used in errors. */
export function decodeNpy(bytes: Uint8Array, name: string): Tensor {
  const { raw, shape, fortran, start, size } = npyHeader(bytes, name);
  if (start + size > bytes.length) {
    throw new UserError(`${name} is truncated (needs ${size} data bytes, has ${bytes.length - start}): re-download or re-export it`);
  }
  const t = decodeTensor(raw, shape, bytes.subarray(start, start + size));
  if (!fortran || shape.length < 2) return t;
  // Fortran data is the C-order array of the reversed shape; reversing its axes gives the C-order tensor
  const rev = [...shape].reverse();
  return permute({ ...t, shape: rev }, rev.map((_, i) => rev.length - 1 - i));
}

/** Encodes a tensor as a version-1 .npy file (C order), padded as numpy pads it (64-byte aligned data). */
export function encodeNpy(t: Tensor): Uint8Array[] {
  const { raw, bytes } = encodeTensor(t);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descrOf[raw]}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.write(MAGIC, 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  return [pre, Buffer.from(header, 'latin1'), bytes];
}

/** Parses an .npz archive: member `a/b.npy` becomes tensor `a/b`. */
export function parseNpz(src: ByteSource): StateDict {
  const entries = readZip(src);
  const out: StateDict = new Map();
  for (const e of entries) {
    if (!e.name.endsWith('.npy')) throw corrupt(src, `member ${e.name} is not a .npy array`);
    const key = e.name.slice(0, -4);
    const name = `${src.name}:${key}`;
    // the header first, from as few bytes as it needs: a member that declares more than its shape × dtype (a
    // zip bomb with an honest size) is refused before it is inflated
    const h = npyHeader(e.readHead(MAX_NPY_HEAD), name);
    if (e.size > h.start + h.size) {
      throw new UserError(
        `${name} holds ${e.size} bytes but its .npy header (shape (${h.shape.join(', ')}), ${h.raw}) needs ${h.start + h.size}: ` +
          're-export it with numpy.savez',
      );
    }
    out.set(key, decodeNpy(e.read(), name));
  }
  return out;
}

/** Reads a .npz file (floats decoded to float32). */
export function readNpz(path: string): StateDict {
  return withFileSource(path, parseNpz);
}

/** Parses .npz bytes already in memory; `name` is used in error messages. */
export function decodeNpz(bytes: Uint8Array, name = '<buffer>'): StateDict {
  return parseNpz(bufferSource(bytes, name));
}

/** Serialises tensors as an uncompressed .npz (like numpy.savez), as output chunks. */
export function encodeNpz(tensors: StateDict): Uint8Array[] {
  return encodeZip([...tensors].map(([name, t]) => ({ name: `${name}.npy`, chunks: encodeNpy(t) })));
}

/** Writes a .npz file atomically (never replacing an existing file unless `force`). */
export function writeNpz(path: string, tensors: StateDict, opts: WriteOptions = {}): void {
  writeFileAtomic(path, encodeNpz(tensors), opts);
}
