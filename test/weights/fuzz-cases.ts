// Hostile checkpoints generated from the fixtures (seeded): for .safetensors, .npz/.npy, torch .pth and Hugging Face
// folders, truncations, bit flips, length fields set to 0/−1/2^31/2^63, hostile header values, zip bombs,
// overlapping members, self-referencing and deeply nested pickles, and traversal names. Run by fuzz.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { Rng } from '../../src/rng.ts';
import { bufferSource } from '../../src/weights/byte-source.ts';
import { encodeZip, readZip } from '../../src/weights/zip.ts';
import { type FuzzCase, type FuzzFile, bitFlips, fieldCases, fileCase, truncations } from '../fuzz-corpus.ts';
import { LOCAL, SHARED } from './helpers.ts';
import { type Py, pickle, pthBytes, torchTensor } from './pickle-writer.ts';
import { buildZip } from './zip-builder.ts';

const MODEL = join(SHARED, 'micro_gray_p4_28');
const DEEP = 100_000;
/** JSON texts a header field is replaced with: signs, sizes, fractions, wrong types, deep nesting. */
const HOSTILE_JSON = [
  '0', '-1', '2147483648', '9223372036854775808', '1.5', '1e308', '"x"', 'null', 'true', '[]', '{}', '[[[[[1]]]]]',
  '['.repeat(DEEP) + ']'.repeat(DEEP),
];
/** A placeholder value that `splice` swaps for a JSON text after serialising (so deep nesting never recurses). */
const hole = '\u0000hostile';
const splice = (value: unknown, text: string): string => JSON.stringify(value).replace(JSON.stringify(hole), text);

/** Members of a fixture archive, as (name, bytes). */
function members(bytes: Uint8Array): { name: string; data: Uint8Array }[] {
  return readZip(bufferSource(bytes, 'fixture')).map((e) => ({ name: e.name, data: e.read() }));
}
const rezip = (ms: readonly { name: string; data: Uint8Array }[]) => Buffer.concat(encodeZip(ms.map((m) => ({ name: m.name, chunks: [m.data] }))));

/** Offsets of every 4-byte signature in `bytes` (zip headers; the odd false hit in data only widens the fuzz). */
function signatures(bytes: Buffer, sig: number): number[] {
  const at: number[] = [];
  for (
    let i = bytes.indexOf(Buffer.from(new Uint32Array([sig]).buffer));
    i >= 0;
    i = bytes.indexOf(Buffer.from(new Uint32Array([sig]).buffer), i + 1)
  ) {
    at.push(i);
  }
  return at;
}

/** Length, size and offset fields of a zip's headers set to hostile values. */
function zipFieldCases(label: string, name: string, bytes: Buffer, rng: Rng, entries: number): FuzzCase[] {
  const central = signatures(bytes, 0x02014b50);
  const picked = Array.from({ length: entries }, () => central[rng.int(central.length)]!);
  const fields: [string, number, 2 | 4 | 8][] = [];
  for (const c of picked) {
    fields.push(['csize', c + 20, 4], ['usize', c + 24, 4], ['nameLen', c + 28, 2], ['extraLen', c + 30, 2], ['local', c + 42, 4]);
  }
  for (const l of signatures(bytes, 0x04034b50).slice(0, entries)) fields.push(['localName', l + 26, 2], ['localExtra', l + 28, 2]);
  for (const e of signatures(bytes, 0x06054b50)) fields.push(['count', e + 10, 2], ['cdSize', e + 12, 4], ['cdOffset', e + 16, 4]);
  for (const e of signatures(bytes, 0x06064b50)) fields.push(['count64', e + 32, 8], ['cdSize64', e + 40, 8], ['cdOffset64', e + 48, 8]);
  for (const e of signatures(bytes, 0x07064b50)) fields.push(['eocd64', e + 8, 8]);
  return fields.flatMap(([f, off, w]) => fieldCases(`${label} ${f}@${off}`, name, bytes, off, w));
}

/** Zip-level attacks on an archive's members: bombs, lying sizes, overlapping entries, short zip64 extras. */
function zipAttacks(label: string, name: string, ms: readonly { name: string; data: Uint8Array }[]): FuzzCase[] {
  const [first, ...rest] = ms;
  const plain = rest.map((m) => ({ name: m.name, data: m.data }));
  const bomb = new Uint8Array(8 * 2 ** 20);
  return [
    fileCase(`${label} bomb declared small`, name, buildZip([{ ...first!, data: bomb, deflate: true, size: first!.data.length }, ...plain])),
    fileCase(`${label} bomb declared honestly`, name, buildZip([{ ...first!, data: bomb, deflate: true }, ...plain])),
    fileCase(`${label} size 2^31`, name, buildZip([{ ...first!, deflate: true, size: 2 ** 31 }, ...plain])),
    fileCase(`${label} wrong crc`, name, buildZip([{ ...first!, crc: 1 }, ...plain])),
    fileCase(
      `${label} overlapping entries`,
      name,
      buildZip([
        { ...first!, deflate: true },
        ...plain,
        ...Array.from({ length: 50 }, (_, i) => ({ name: `dup${i}`, data: first!.data, sameAs: 0 })),
      ]),
    ),
    fileCase(
      `${label} short zip64 extra`,
      name,
      buildZip([{ ...first!, extra: new Uint8Array([1, 0, 0, 0]), fields32: { usize: 0xffffffff } }, ...plain]),
    ),
    fileCase(
      `${label} zip64 offset past the end`,
      name,
      buildZip([{ ...first!, extra: Buffer.from([1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f]), fields32: { offset: 0xffffffff } }, ...plain]),
    ),
    fileCase(`${label} duplicate names`, name, rezip([...ms, ...ms])),
    fileCase(`${label} empty archive`, name, rezip([])),
    fileCase(`${label} deflate garbage`, name, buildZip([{ ...first!, data: deflateRawSync(first!.data).subarray(3), deflate: true }, ...plain])),
  ];
}

export function safetensorsCases(rng: Rng): FuzzCase[] {
  const bytes = readFileSync(join(MODEL, 'timm.safetensors'));
  const hlen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + hlen)) as Record<string, Record<string, unknown>>;
  const data = bytes.subarray(8 + hlen);
  const withHeader = (h: unknown, text = JSON.stringify(h)) => {
    const json = Buffer.from(text);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  };
  const name = 'x.safetensors';
  const cases: FuzzCase[] = [
    ...truncations(bytes, 300, rng).map((b) => fileCase(`safetensors cut ${b.length}`, name, b)),
    ...bitFlips(bytes, 300, rng, 0, 8 + hlen).map((b, i) => fileCase(`safetensors header flip ${i}`, name, b)),
    ...bitFlips(bytes, 100, rng).map((b, i) => fileCase(`safetensors flip ${i}`, name, b)),
    ...fieldCases('safetensors header length', name, bytes, 0, 8),
  ];
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  for (let i = 0; i < 8; i++) {
    const t = names[rng.int(names.length)]!;
    for (const field of ['shape', 'data_offsets', 'dtype']) {
      for (const v of HOSTILE_JSON) {
        cases.push(
          fileCase(
            `safetensors ${t}.${field}=${v.slice(0, 20)}`,
            name,
            withHeader(null, splice({ ...header, [t]: { ...header[t], [field]: hole } }, v)),
          ),
        );
      }
    }
    const [a, b] = header[t]!.data_offsets as number[];
    for (const off of [
      [a, b! + 4],
      [a! - 4, b],
      [0, b! - a!],
      [b, b! + (b! - a!)],
    ]) {
      cases.push(fileCase(`safetensors ${t} offsets ${off}`, name, withHeader({ ...header, [t]: { ...header[t], data_offsets: off } })));
    }
  }
  const t0 = header[names[0]!]!;
  const copies = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`copy${i}`, t0]));
  cases.push(fileCase('safetensors 1000 tensors over one region', name, withHeader({ ...header, ...copies })));
  for (const v of HOSTILE_JSON) {
    cases.push(fileCase(`safetensors metadata=${v.slice(0, 20)}`, name, withHeader(null, splice({ ...header, __metadata__: hole }, v))));
    cases.push(fileCase(`safetensors vitkit meta=${v.slice(0, 20)}`, name, withHeader({ ...header, __metadata__: { vitkit: v } })));
    cases.push(
      fileCase(`safetensors vitkit config=${v.slice(0, 20)}`, name, withHeader({ ...header, __metadata__: { vitkit: splice({ config: hole }, v) } })),
    );
  }
  cases.push(fileCase('safetensors header not an object', name, withHeader([1, 2, 3])), fileCase('safetensors no tensors', name, withHeader({})));
  return cases;
}

/** A version-1 .npy header with `fields` spliced into the dict text. */
function npy(fields: string, data: Uint8Array): Buffer {
  const h = Buffer.from(`{${fields}}\n`, 'latin1');
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, 0, 0]);
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, h, data]);
}

export function npzCases(rng: Rng): FuzzCase[] {
  const bytes = readFileSync(join(MODEL, 'google.npz'));
  const ms = members(bytes);
  const name = 'x.npz';
  const cases: FuzzCase[] = [
    ...truncations(bytes, 250, rng).map((b) => fileCase(`npz cut ${b.length}`, name, b)),
    ...bitFlips(bytes, 150, rng).map((b, i) => fileCase(`npz flip ${i}`, name, b)),
    ...bitFlips(bytes, 100, rng, bytes.length - 3000).map((b, i) => fileCase(`npz directory flip ${i}`, name, b)),
    ...zipFieldCases('npz', name, bytes, rng, 8),
    ...zipAttacks('npz', name, ms),
  ];
  const replace = (i: number, data: Uint8Array) => rezip(ms.map((m, j) => (j === i ? { name: m.name, data } : m)));
  const shapes = [
    '(-2, -3)', '(1.5, 2)', '(abc,)', '(2147483648, 2147483648)', '(9223372036854775808,)', '()', '(0,)',
    '(1,' + '1,'.repeat(5000) + ')', '((2,),)',
  ];
  const descrs = ["'|O'", "'>f4'", "'<c8'", "'<U10'", "[('a', '<f4')]", "'<f4' * 2", "''"];
  for (let k = 0; k < 12; k++) {
    const i = rng.int(ms.length);
    const m = ms[i]!;
    const hlen = 10 + Buffer.from(m.data).readUInt16LE(8);
    for (const b of truncations(m.data, 6, rng)) cases.push(fileCase(`npz member ${m.name} cut ${b.length}`, name, replace(i, b)));
    for (const b of bitFlips(m.data, 10, rng, 0, hlen)) cases.push(fileCase(`npz member ${m.name} header flip`, name, replace(i, b)));
    for (const b of fieldCases('npy header length', 'm', m.data, 8, 2)) {
      cases.push(fileCase(`npz member ${m.name} ${b.label}`, name, replace(i, b.files.m as Uint8Array)));
    }
    for (const s of shapes) {
      cases.push(
        fileCase(
          `npz member ${m.name} shape ${s.slice(0, 20)}`,
          name,
          replace(i, npy(`'descr': '<f4', 'fortran_order': False, 'shape': ${s}, `, m.data.subarray(hlen))),
        ),
      );
    }
    for (const d of descrs) {
      cases.push(
        fileCase(
          `npz member ${m.name} descr ${d}`,
          name,
          replace(i, npy(`'descr': ${d}, 'fortran_order': False, 'shape': (2,), `, m.data.subarray(hlen))),
        ),
      );
    }
    cases.push(
      fileCase(
        `npz member ${m.name} fortran junk`,
        name,
        replace(i, npy(`'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), `, m.data.subarray(hlen))),
      ),
    );
  }
  cases.push(fileCase('npz member not .npy', name, rezip([...ms, { name: 'evil.pkl', data: new Uint8Array(8) }])));
  cases.push(fileCase('npz member longer than its .npy header says', name, replace(0, Buffer.concat([ms[0]!.data, new Uint8Array(4096)]))));
  return cases;
}

/** Pickles a hostile data.pkl can hold (each in an otherwise valid torch.save archive). */
function hostilePickles(): [string, Buffer, Record<string, Uint8Array>][] {
  const f32 = (n: number) => Buffer.from(new Float32Array(n).buffer);
  const t = (offset: Py, size: Py, stride: Py, key = '0') => torchTensor(key, offset, size, stride);
  const one = (v: Py): Buffer => pickle({ dict: [['w', v]] });
  const raw = (hex: string) => Buffer.from(`8002${hex}2e`, 'hex');
  const deepList = Buffer.concat([
    Buffer.from([0x80, 0x02]),
    Buffer.alloc(DEEP, 0x5d),
    Buffer.from(Array.from({ length: DEEP - 1 }, () => 0x61)),
    Buffer.from([0x2e]),
  ]);
  const cases: [string, Buffer, Record<string, Uint8Array>][] = [
    ['self-referencing dict', raw('7d710058050000006d6f64656c680073'), {}],
    ['cycle through state_dict', Buffer.from('80027d7100580a00000073746174655f6469637471017d710258050000006d6f64656c7103680073732e', 'hex'), {}],
    ['list containing itself', raw('5d7100680061'), {}],
    ['deeply nested lists', deepList, {}],
    [
      'deeply nested model dicts',
      pickle(Array.from({ length: 2000 }).reduce<Py>((inner) => ({ dict: [['model', inner]] }), { dict: [['w', t(0, [2], [1])]] })),
      { '0': f32(2) },
    ],
    [
      '300 tensors over one storage',
      pickle({ dict: Array.from({ length: 300 }, (_, i) => [`t${i}`, t(0, [4096], [1])] as [Py, Py]) }),
      { '0': f32(4096) },
    ],
    ['storage missing', one(t(0, [2], [1], 'nope')), {}],
    ['storage of odd length', one(t(0, [1], [1])), { '0': new Uint8Array(7) }],
    [
      'storage key not a string',
      one({
        call: [
          { global: 'torch._utils._rebuild_tensor_v2' },
          [{ persid: ['storage', { global: 'torch.FloatStorage' }, 5, 'cpu', 1] }, 0, [1], [1], false, null],
        ],
      }),
      {},
    ],
    ['unknown storage type', one(torchTensor('0', 0, [1], [1], 'torch.ComplexFloatStorage')), { '0': f32(1) }],
    ['persid of a cyclic value', raw('5d71006800615168005271'), {}],
    ['rebuild without arguments', one({ call: [{ global: 'torch._utils._rebuild_tensor_v2' }, []] }), {}],
    ['rebuild with a non-tuple', raw('63746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a4b0152'), {}],
    ['os.system', one({ call: [{ global: 'os.system' }, ['echo pwned']] }), {}],
    ['non-string key', pickle({ dict: [[[1, 2], t(0, [1], [1])]] }), { '0': f32(1) }],
    ['huge LONG1 key', pickle({ dict: [[2n ** 2000n, t(0, [1], [1])]] }), { '0': f32(1) }],
    ['STACK_GLOBAL of lists', raw('5d5d93'), {}],
    ['MARK without end', raw('28282828'), {}],
    ['POP_MARK without MARK', raw('31'), {}],
    ['memo miss', raw('68ff'), {}],
    ['SETITEMS on a list', raw('5d284b014b0275'), {}],
    ['BINUNICODE8 of 2^63', raw('8d0000000000000080'), {}],
    ['BINBYTES of 2^32-1', raw('42ffffffff'), {}],
    ['only PROTO', Buffer.from('8002', 'hex'), {}],
    ['empty', Buffer.alloc(0), {}],
  ];
  for (const [what, offset, size, stride] of [
    ['offset -1', -1, [2], [1]], ['offset 2^63', 2n ** 63n, [2], [1]], ['offset 1.5', 1.5, [2], [1]], ['size (-2,-3)', 0, [-2, -3], [1, 1]],
    ['size 2^31', 0, [2 ** 31], [1]], ['size 2^63', 0, [2n ** 63n], [1]], ['size string', 0, 'ab', [1]], ['stride rank', 0, [2, 2], [1]],
    ['stride -1', 0, [2], [-1]], ['rank 100', 0, Array(100).fill(1), Array(100).fill(1)], ['size nested', 0, [[2]], [1]],
  ] as [string, Py, Py, Py][]) cases.push([what, one(t(offset, size, stride)), { '0': f32(4) }]);
  return cases;
}

export function pthCases(rng: Rng): FuzzCase[] {
  const bytes = readFileSync(join(LOCAL, 'micro_gray_p4_28.pth'));
  const ms = members(bytes);
  const name = 'x.pth';
  const pklAt = ms.findIndex((m) => m.name.endsWith('data.pkl'));
  const pkl = ms[pklAt]!.data;
  const withPkl = (b: Uint8Array) => rezip(ms.map((m, j) => (j === pklAt ? { name: m.name, data: b } : m)));
  return [
    ...truncations(bytes, 250, rng).map((b) => fileCase(`pth cut ${b.length}`, name, b)),
    ...bitFlips(bytes, 150, rng).map((b, i) => fileCase(`pth flip ${i}`, name, b)),
    ...zipFieldCases('pth', name, bytes, rng, 8),
    ...zipAttacks('pth', name, ms),
    ...bitFlips(pkl, 350, rng).map((b, i) => fileCase(`pth data.pkl flip ${i}`, name, withPkl(b))),
    ...truncations(pkl, 120, rng).map((b) => fileCase(`pth data.pkl cut ${b.length}`, name, withPkl(b))),
    ...hostilePickles().map(([label, p, storages]) => fileCase(`pth ${label}`, name, pthBytes(p, storages))),
  ];
}

/** Hugging Face folders: config.json and preprocessor values, index entries and symlinks, damaged weights. */
export function hfCases(rng: Rng): FuzzCase[] {
  const dir = join(MODEL, 'hf');
  const model = readFileSync(join(dir, 'model.safetensors'));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const pre = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
  const folder = (label: string, files: Record<string, FuzzFile>): FuzzCase => ({
    label: `hf ${label}`,
    files: { 'hf/config.json': JSON.stringify(config), 'hf/model.safetensors': model, 'hf/preprocessor_config.json': JSON.stringify(pre), ...files },
    target: 'hf',
  });
  const cases: FuzzCase[] = [];
  for (const key of [
    'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'image_size', 'patch_size',
    'num_channels', 'layer_norm_eps', 'id2label', 'model_type', 'qkv_bias',
  ]) {
    for (const v of HOSTILE_JSON) cases.push(folder(`config ${key}=${v.slice(0, 20)}`, { 'hf/config.json': splice({ ...config, [key]: hole }, v) }));
  }
  for (const key of ['image_mean', 'image_std', 'size']) {
    for (const v of [...HOSTILE_JSON, '[0.5, 0.5, 0.5, 0.5]', '{"height": 2147483648}', '{"shortest_edge": -1}']) {
      cases.push(folder(`preprocessor ${key}=${v.slice(0, 20)}`, { 'hf/preprocessor_config.json': splice({ ...pre, [key]: hole }, v) }));
    }
  }
  for (const v of HOSTILE_JSON) cases.push(folder(`config.json is ${v.slice(0, 20)}`, { 'hf/config.json': v }));
  const index = (shard: unknown, extra: Record<string, FuzzFile> = {}) => ({
    'hf/model.safetensors': '',
    'hf/model.safetensors.index.json': JSON.stringify({ weight_map: { 'vit.embeddings.cls_token': shard } }),
    ...extra,
  });
  const traversal = [
    '../outside.safetensors', '/etc/passwd', 'sub/../model.safetensors', '..', '.', '', 'a\\b', 'x\u0000y',
    'nope.safetensors', 'model.safetensors.index.json',
  ];
  for (const shard of [...traversal, 5, null, ['a'], { a: 1 }]) {
    cases.push(folder(`index ${JSON.stringify(shard)}`, { ...index(shard), 'outside.safetensors': model }));
  }
  cases.push(folder('index names a directory', index('shards', { 'hf/shards/model.safetensors': model })));
  cases.push(folder('weights a link to a directory', { 'hf/model.safetensors': { link: 'sub' }, 'hf/sub/model.safetensors': model }));
  const idx = (v: unknown) => ({ 'hf/model.safetensors': '', 'hf/model.safetensors.index.json': JSON.stringify(v) });
  for (const v of [null, [], {}, { weight_map: [] }, { weight_map: 'x' }, { weight_map: null }]) {
    cases.push(folder(`index body ${JSON.stringify(v)}`, idx(v)));
  }
  cases.push(
    folder('weights linked outside', { 'hf/model.safetensors': { link: '../outside.safetensors' }, 'outside.safetensors': model }),
    folder('config linked outside', { 'hf/config.json': { link: '../c.json' }, 'c.json': JSON.stringify(config) }),
    folder('weights linked to /etc/passwd', { 'hf/model.safetensors': { link: '/etc/passwd' } }),
    folder('weights a dangling link', { 'hf/model.safetensors': { link: 'missing' } }),
    folder('weights linked inside', { 'hf/model.safetensors': { link: 'real.safetensors' }, 'hf/real.safetensors': model }),
    folder('config not JSON', { 'hf/config.json': '{"a": ' }),
  );
  cases.push(...truncations(model, 60, rng).map((b) => folder(`model cut ${b.length}`, { 'hf/model.safetensors': b })));
  cases.push(...bitFlips(model, 60, rng, 0, 3000).map((b, i) => folder(`model header flip ${i}`, { 'hf/model.safetensors': b })));
  return cases;
}
