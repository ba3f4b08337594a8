// Reading back what vitkit's ONNX writer encodes, for tests: the length-delimited fields of a protobuf message.

/** Every field of `b` in order, with its bytes when length-delimited (messages, strings), else null. */
export function* protoFields(b: Uint8Array): Generator<[number, Uint8Array | null]> {
  let i = 0;
  const varint = (): number => {
    let x = 0;
    for (let shift = 0; ; shift += 7) {
      const c = b[i++]!;
      x += (c & 127) * 2 ** shift;
      if (c < 128) return x;
    }
  };
  while (i < b.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 2) {
      const n = varint();
      i += n;
      yield [Math.floor(key / 8), b.subarray(i - n, i)];
    } else {
      if (wire === 0) varint();
      else i += wire === 1 ? 8 : wire === 5 ? 4 : Number.NaN;
      yield [Math.floor(key / 8), null];
    }
  }
}

/** The length-delimited values of one field number. */
export const protoField = (b: Uint8Array, field: number): Uint8Array[] =>
  [...protoFields(b)].filter(([f, v]) => f === field && v).map(([, v]) => v!);

/** An ONNX model's metadata_props (ModelProto field 14: key 1, value 2) as an object. */
export function onnxMetadata(model: Uint8Array): Record<string, string> {
  const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
  return Object.fromEntries(protoField(model, 14).map((e) => [text(protoField(e, 1)[0]), text(protoField(e, 2)[0])]));
}
