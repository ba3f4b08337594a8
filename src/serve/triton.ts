// A Triton Inference Server model repository for an exported ONNX model, so serving can move onto an existing
// inference server: <repo>/<name>/config.pbtxt (onnxruntime backend, dynamic batching, the graph's input and output
// names and shapes without the batch dimension) and one folder per version: 1/model.onnx (float32) and, where
// given, 2/model.onnx (its int8 twin). Triton serves the newest version unless version_policy says otherwise;
// this config serves both, so clients pick one by version.

/** One tensor of the model's signature, its shape without the (dynamic) batch dimension. */
export interface TritonTensor {
  readonly name: string;
  readonly dims: readonly number[];
}

export interface TritonModel {
  readonly name: string;
  readonly input: TritonTensor;
  readonly outputs: readonly TritonTensor[];
  /** The largest batch Triton forms from queued requests. */
  readonly maxBatchSize: number;
  /** Versions present (1 = float32, 2 = int8). */
  readonly versions: readonly number[];
}

const tensor = (t: TritonTensor): string => `  {\n    name: "${t.name}"\n    data_type: TYPE_FP32\n    dims: [ ${t.dims.join(', ')} ]\n  }`;

/** config.pbtxt for the onnxruntime backend with dynamic batching. */
export function tritonConfig(m: TritonModel): string {
  return `name: "${m.name}"
backend: "onnxruntime"
max_batch_size: ${m.maxBatchSize}
version_policy: { specific: { versions: [ ${m.versions.join(', ')} ] } }
input [
${tensor(m.input)}
]
output [
${m.outputs.map(tensor).join(',\n')}
]
dynamic_batching {
  max_queue_delay_microseconds: 2000
}
instance_group [
  { kind: KIND_AUTO }
]
`;
}

/** The repository's files (paths relative to its root) for a model and its ONNX bytes per version. */
export function tritonRepository(m: Omit<TritonModel, 'versions'>, onnx: ReadonlyMap<number, Uint8Array>): Record<string, Uint8Array[]> {
  const versions = [...onnx.keys()].sort((a, b) => a - b);
  const files: Record<string, Uint8Array[]> = { [`${m.name}/config.pbtxt`]: [Buffer.from(tritonConfig({ ...m, versions }))] };
  for (const [v, bytes] of onnx) files[`${m.name}/${v}/model.onnx`] = [bytes];
  return files;
}
