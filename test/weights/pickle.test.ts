import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnpickleError, unpickle } from '../../src/weights/pickle.ts';
import { pickle } from './pickle-writer.ts';

// pickle.dumps({'a': [1, -1, 2**70, -300, 1.5, True, None, 'xé', b'yz', (1, 2, 3), (), 70000],
//               'b': collections.OrderedDict(k=300)}, protocol=P)
const proto2 =
  '80027d71002858010000006171015d7102284b014affffffff8a090000000000000000404ad4feffff473ff8000000000000884e580300000078c3a97103635f' +
  '636f646563730a656e636f64650a71045802000000797a710558060000006c6174696e3171068671075271084b014b024b03877109294a701101006558010000' +
  '0062710a63636f6c6c656374696f6e730a4f726465726564446963740a710b2952710c58010000006b710d4d2c0173752e';
const proto4 =
  '80049575000000000000007d94288c0161945d94284b014affffffff8a090000000000000000404ad4feffff473ff8000000000000884e8c0378c3a994430279' +
  '7a944b014b024b038794294a70110100658c0162948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944d2c0173752e';
// pickle.dumps({'w': Evil()}) where Evil.__reduce__ returns (os.system, ('echo pwned > /tmp/pwned',))
const evil = '80027d7100580100000077710163706f7369780a73797374656d0a710258170000006563686f2070776e6564203e202f746d702f70776e65647103857104527105732e';

const opts = { callables: { 'collections.OrderedDict': () => new Map() }, persistentLoad: () => null };

for (const [proto, hex] of [['2', proto2], ['4', proto4]] as const) {
  test(`decodes the state-dict subset of protocol ${proto}`, () => {
    const d = unpickle(Buffer.from(hex, 'hex'), opts) as Map<string, unknown>;
    const a = d.get('a') as unknown[];
    assert.deepEqual(a.slice(0, 8), [1, -1, 2n ** 70n, -300, 1.5, true, null, 'xé']);
    // protocol 2 pickles bytes as a call to _codecs.encode, which is not allowed: it stays an inert placeholder
    assert.deepEqual(a[8], proto === '4' ? Buffer.from('yz') : { opaque: '_codecs.encode' });
    assert.deepEqual(a.slice(9), [[1, 2, 3], [], 70000]);
    assert.deepEqual(d.get('b'), new Map([['k', 300]]));
  });
}

test('never calls functions it was not given', () => {
  const d = unpickle(Buffer.from(evil, 'hex'), opts) as Map<string, unknown>;
  assert.deepEqual(d.get('w'), { opaque: 'posix.system' });
});

test('malformed data is an UnpickleError', () => {
  assert.throws(() => unpickle(Buffer.from(proto2.slice(0, 40), 'hex'), opts), UnpickleError);
  assert.throws(() => unpickle(Buffer.from('8002ff', 'hex'), opts), /opcode 0xff at byte 2 is not supported/);
  assert.throws(() => unpickle(Buffer.from('80022e', 'hex'), opts), /stack underflow/);
});

test('huge LONG4 integers decode in linear time', () => {
  // a 1 MiB integer: 0x01 0x00 … 0x00 0x7f (little-endian), i.e. 0x7f << (8 * (n - 1)) + 1
  const n = 2 ** 20;
  const bytes = Buffer.alloc(n);
  bytes[0] = 1;
  bytes[n - 1] = 0x7f;
  const t0 = performance.now();
  const v = unpickle(pickle({ raw: Buffer.concat([Buffer.from([0x8b, 0, 0, 0x10, 0]), bytes]) }), opts) as bigint;
  assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
  assert.equal(v, (0x7fn << BigInt(8 * (n - 1))) + 1n);
  assert.equal(unpickle(pickle(-(2n ** 70n) - 5n), opts), -(2n ** 70n) - 5n);
  assert.equal(unpickle(pickle(-300n), opts), -300);
});

test('APPENDS of many items does not overflow the stack', () => {
  const n = 300_000;
  const items = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) items.set([0x4b, i & 0xff], 2 * i);
  const list = unpickle(pickle({ raw: Buffer.concat([Buffer.from([0x5d, 0x28]), items, Buffer.from([0x65])]) }), opts) as number[];
  assert.equal(list.length, n);
  assert.equal(list[n - 1], (n - 1) & 0xff);
});

test('globals must be named by strings', () => {
  // STACK_GLOBAL over a list instead of two strings
  assert.throws(() => unpickle(pickle({ raw: Buffer.from([0x5d, 0x5d, 0x93]) }), opts), UnpickleError);
});
