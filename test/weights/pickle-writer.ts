// Builds pickles (protocol 2 opcodes) from a small value tree, for tests that need hand-made or hostile
// torch.save files: tensors over chosen storages, self-referencing dicts, deep nesting, huge integers.
import { encodeZip } from '../../src/weights/zip.ts';

/** A Python value: tuples are arrays; `raw` splices opcodes in as they are. */
export type Py =
  | null | boolean | number | bigint | string | Py[]
  | { dict: [Py, Py][] } | { global: string } | { call: [Py, Py[]] } | { persid: Py } | { raw: Uint8Array };

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** Little-endian two's complement bytes of a bigint, as LONG1/LONG4 store it. */
function longBytes(v: bigint): Buffer {
  const out: number[] = [];
  for (let x = v; ; x >>= 8n) {
    out.push(Number(x & 0xffn));
    if ((x === 0n || x === -1n) && ((out.at(-1)! & 0x80) !== 0) === (x < 0n)) break;
  }
  return Buffer.from(out);
}

function emit(v: Py, out: Buffer[]): void {
  if (v === null) out.push(Buffer.from([0x4e]));
  else if (v === true || v === false) out.push(Buffer.from([v ? 0x88 : 0x89]));
  else if (typeof v === 'bigint') {
    const b = longBytes(v);
    out.push(Buffer.from([0x8b]), u32(b.length), b);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < 256) out.push(Buffer.from([0x4b, v]));
    else if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) out.push(Buffer.from([0x4a]), Buffer.from(new Int32Array([v]).buffer));
    else if (Number.isInteger(v)) emit(BigInt(v), out);
    else {
      const b = Buffer.alloc(9);
      b[0] = 0x47;
      b.writeDoubleBE(v, 1);
      out.push(b);
    }
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    out.push(Buffer.from([0x58]), u32(s.length), s);
  } else if (Array.isArray(v)) {
    out.push(Buffer.from([0x28]));
    for (const x of v) emit(x, out);
    out.push(Buffer.from([0x74]));
  } else if ('dict' in v) {
    out.push(Buffer.from([0x7d, 0x28]));
    for (const [k, x] of v.dict) {
      emit(k, out);
      emit(x, out);
    }
    out.push(Buffer.from([0x75]));
  } else if ('global' in v) {
    const dot = v.global.lastIndexOf('.');
    out.push(Buffer.from(`c${v.global.slice(0, dot)}\n${v.global.slice(dot + 1)}\n`, 'latin1'));
  } else if ('call' in v) {
    emit(v.call[0], out);
    emit(v.call[1], out);
    out.push(Buffer.from([0x52]));
  } else if ('persid' in v) {
    emit(v.persid, out);
    out.push(Buffer.from([0x51]));
  } else out.push(Buffer.from(v.raw));
}

/** A protocol-2 pickle of `v`. */
export function pickle(v: Py): Buffer {
  const out: Buffer[] = [Buffer.from([0x80, 0x02])];
  emit(v, out);
  out.push(Buffer.from([0x2e]));
  return Buffer.concat(out);
}

/** torch's pickle of a tensor: `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`. */
export function torchTensor(key: string, offset: Py, size: Py, stride: Py, storage = 'torch.FloatStorage'): Py {
  const ref: Py = { persid: ['storage', { global: storage }, key, 'cpu', 0] };
  return {
    call: [{ global: 'torch._utils._rebuild_tensor_v2' }, [ref, offset, size, stride, false, { call: [{ global: 'collections.OrderedDict' }, []] }]],
  };
}

/** A torch.save zip: `archive/data.pkl` plus storages `archive/data/<key>`. */
export function pthBytes(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): Buffer {
  const members = [
    { name: 'archive/data.pkl', chunks: [pkl] },
    ...Object.entries(storages).map(([k, b]) => ({ name: `archive/data/${k}`, chunks: [b] })),
  ];
  return Buffer.concat(encodeZip(members));
}
