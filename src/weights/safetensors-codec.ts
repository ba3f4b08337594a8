// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
// then the raw tensor bytes. https://github.com/huggingface/safetensors#format
// The codec over bytes, with no `node:` imports (the browser reads and writes checkpoints with it); reading and
// writing files is safetensors.ts.
import type { StateDict } from '../graph/tensor.ts';
import { formatShape, numel } from '../graph/tensor.ts';
import { type ByteSource, bufferSource, corrupt } from './byte-source.ts';
import { type RawType, decodeTensor, encodeTensor, isRawType, rawBytes } from './decode.ts';
import { UserError, shown } from '../errors.ts';

/** Tensors (floats decoded to float32) and the string metadata of a safetensors file. */
export interface SafetensorsContent {
  readonly tensors: StateDict;
  readonly metadata: Record<string, string>;
}

interface Entry {
  readonly dtype: RawType;
  readonly shape: number[];
  readonly data_offsets: [number, number];
}

/** The largest header the safetensors format allows (its reference reader's MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 100_000_000;

const isNat = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function readHeader(src: ByteSource): { header: Record<string, unknown>; dataStart: number } {
  if (src.size < 8) {
    throw new UserError(
      `${src.name} is truncated (${src.size} bytes, shorter than the 8-byte safetensors header length): re-download or re-export it`,
    );
  }
  const lenBytes = src.read(0, 8);
  const len = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (len > src.size - 8) {
    throw new UserError(
      `${src.name} is truncated (header says ${len} bytes, file has ${src.size - 8} after the length): re-download or re-export it`,
    );
  }
  // The reference implementation refuses headers over 100 MB too: parsing one would cost memory out of all
  // proportion to the tensors it could describe.
  if (len > MAX_HEADER_BYTES) throw corrupt(src, `safetensors header of ${len} bytes is over the format's limit of ${MAX_HEADER_BYTES}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(src.read(8, len)));
  } catch {
    throw corrupt(src, 'safetensors header is not valid JSON; is this really a .safetensors file?');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt(src, 'safetensors header is not a JSON object');
  return { header: header as Record<string, unknown>, dataStart: 8 + len };
}

function checkEntry(src: ByteSource, name: string, e: unknown, dataSize: number): Entry {
  const bad = (why: string) => corrupt(src, `tensor '${name}' ${why}`);
  if (typeof e !== 'object' || e === null) throw bad('has no header entry');
  const { dtype, shape, data_offsets: off } = e as Partial<Entry>;
  if (typeof dtype !== 'string' || !isRawType(dtype)) {
    throw new UserError(
      `${src.name}: tensor '${name}' has dtype ${typeof dtype === 'string' ? (dtype as string).slice(0, 40) : shown(dtype)} ` +
        '(vitkit reads F32|F16|BF16|F64|I64|I32|I8|U8|BOOL): convert it to float32',
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNat)) throw bad('has an invalid shape');
  if (!Array.isArray(off) || off.length !== 2 || !isNat(off[0]) || !isNat(off[1]) || off[1] < off[0]) throw bad('has invalid data_offsets');
  if (off[1] > dataSize) {
    throw new UserError(`${src.name} is truncated (tensor '${name}' ends at data byte ${off[1]}, file has ${dataSize}): re-download or re-export it`);
  }
  const want = numel(shape) * rawBytes[dtype];
  if (off[1] - off[0] !== want) throw bad(`${formatShape(shape)} ${dtype} needs ${want} bytes but has ${off[1] - off[0]}`);
  return { dtype, shape, data_offsets: off };
}

/**
 * Parses a safetensors file from any byte source, validating the header, offsets and sizes; with `keep`, only the
 * tensors it keeps are read (the header is still checked whole).
 */
export function parseSafetensors(src: ByteSource, keep?: (name: string) => boolean): SafetensorsContent {
  const { header, dataStart } = readHeader(src);
  const dataSize = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, Entry][] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(src, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw corrupt(src, `__metadata__ value '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push([name, checkEntry(src, name, value, dataSize)]);
  }
  // as the format requires, tensors may not share bytes: the total read stays within the file
  const byOffset = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  for (let i = 1; i < byOffset.length; i++) {
    const [prev, next] = [byOffset[i - 1]!, byOffset[i]!];
    if (next[1].data_offsets[0] < prev[1].data_offsets[1]) throw corrupt(src, `tensors '${prev[0]}' and '${next[0]}' overlap`);
  }
  const tensors: StateDict = new Map();
  for (const [name, e] of entries) {
    if (keep && !keep(name)) continue;
    const [begin, end] = e.data_offsets;
    tensors.set(name, decodeTensor(e.dtype, e.shape, src.read(dataStart + begin, end - begin)));
  }
  return { tensors, metadata };
}

/** Parses safetensors bytes already in memory; `name` is used in error messages. */
export function decodeSafetensors(bytes: Uint8Array, name = '<buffer>'): SafetensorsContent {
  return parseSafetensors(bufferSource(bytes, name));
}

/** Serialises tensors (+ string metadata) as safetensors chunks: the header, then each tensor's bytes. */
export function encodeSafetensors(tensors: StateDict, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const { raw, bytes } = encodeTensor(t);
    header[name] = { dtype: raw, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  // pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(json.length + ((8 - ((8 + json.length) % 8)) % 8)).fill(0x20);
  padded.set(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(padded.length), true);
  return [len, padded, ...chunks];
}

