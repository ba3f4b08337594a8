// Serialises a Graph to an ONNX ModelProto (field numbers from onnx/onnx.proto).
import { MessageWriter, type Encoded, join } from './protobuf.ts';
import { type Attr, type Graph, type Shape, type Value, inlineComposites } from './graph.ts';
import type { DType, Tensor } from './tensor.ts';

/** IR version 8 (ONNX 1.10+), accepted by every onnxruntime since 1.10. */
export const IR_VERSION = 8;
/** Opset 18: LayerNormalization (17) and axes-as-input for every Reduce op. */
export const OPSET = 18;

/** ONNX TensorProto.DataType of each dtype (also Cast's `to`). */
export const elemType: Readonly<Record<DType, number>> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
const attrType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function tensorProto(name: string, t: Tensor): Encoded {
  const w = new MessageWriter();
  for (const d of t.shape) w.int(1, d);
  w.int(2, elemType[t.dtype]);
  w.string(8, name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w.finish();
}

function typeProto(dtype: DType, shape: Shape): Encoded {
  const dims = new MessageWriter();
  for (const d of shape) {
    const dim = new MessageWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    dims.message(1, dim.finish());
  }
  const tensorType = new MessageWriter().int(1, elemType[dtype]).message(2, dims.finish());
  return new MessageWriter().message(1, tensorType.finish()).finish();
}

function valueInfo(v: Value): Encoded {
  return new MessageWriter().string(1, v.name).message(2, typeProto(v.dtype, v.shape)).finish();
}

function attribute(name: string, a: Attr): Encoded {
  const w = new MessageWriter().string(1, name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, tensorProto(name, a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  return w.int(20, attrType[a.type]).finish();
}

/**
 * Encodes the graph as an ONNX model, ready for `InferenceSession.create`; `metadata` becomes the model's
 * metadata_props (key/value strings any ONNX tool can read).
 */
export function toOnnx(g: Graph, producer = 'vitkit', metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const graph = new MessageWriter();
  const nodes = inlineComposites(g.nodes);
  nodes.forEach((n, i) => {
    const node = new MessageWriter();
    for (const x of n.inputs) node.string(1, x ? x.name : '');
    for (const y of n.outputs) node.string(2, y.name);
    node.string(3, `${n.scope ? `${n.scope}/` : ''}${n.opType}_${i}`).string(4, n.opType);
    for (const [k, a] of Object.entries(n.attrs)) node.message(5, attribute(k, a));
    if (n.domain) node.string(7, n.domain);
    graph.message(1, node.finish());
  });
  graph.string(2, g.name);
  for (const [name, t] of g.initializers) graph.message(5, tensorProto(name, t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));

  const model = new MessageWriter().int(1, IR_VERSION).string(2, producer).string(3, '0.1.0');
  model.message(7, graph.finish());
  model.message(8, new MessageWriter().string(1, '').int(2, OPSET).finish());
  for (const [k, v] of Object.entries(metadata)) model.message(14, new MessageWriter().string(1, k).string(2, v).finish());
  if (nodes.some((n) => n.domain === 'com.microsoft')) {
    model.message(8, new MessageWriter().string(1, 'com.microsoft').int(2, 1).finish());
  }
  return join(model.finish());
}
