// A minimal protobuf writer for the few ONNX messages vitkit emits.
// Why not a protobuf library: the ONNX schema vitkit needs is six messages that have been stable for years,
// and a writer that keeps large tensor payloads as views (copied once, into the final buffer) serialises a
// 300 MB model without doubling memory. Messages are built as chunk lists with known lengths, then joined once.

/** An encoded message: chunks to concatenate and their total byte length. */
export interface Encoded {
  readonly chunks: Uint8Array[];
  readonly length: number;
}

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

function varint(value: bigint | number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** Builds one message field by field. */
export class MessageWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    this.push(varint((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(varint(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, msg: Encoded): this {
    this.tag(field, WIRE_BYTES);
    this.push(varint(msg.length));
    for (const c of msg.chunks) this.chunks.push(c);
    this.length += msg.length;
    return this;
  }

  /** A packed repeated varint field (parsers accept packed and unpacked encodings alike). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const parts = values.map(varint);
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      body.set(p, o);
      o += p.length;
    }
    return this.bytes(field, body);
  }

  packedFloats(field: number, values: readonly number[]): this {
    return this.bytes(field, new Uint8Array(Float32Array.from(values).buffer));
  }

  finish(): Encoded {
    return { chunks: this.chunks, length: this.length };
  }
}

/** Joins an encoded message into one buffer. */
export function join(msg: Encoded): Uint8Array {
  const out = new Uint8Array(msg.length);
  let o = 0;
  for (const c of msg.chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
