import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tritonConfig, tritonRepository } from '../../src/serve/triton.ts';

const model = {
  name: 'vit',
  maxBatchSize: 16,
  input: { name: 'images', dims: [3, 224, 224] },
  outputs: [
    { name: 'logits', dims: [1000] },
    { name: 'attn.0', dims: [3, -1, -1] },
  ],
};

test('config.pbtxt: onnxruntime backend, dynamic batching, every version served, shapes without the batch', () => {
  assert.equal(tritonConfig({ ...model, versions: [1, 2] }), `name: "vit"
backend: "onnxruntime"
max_batch_size: 16
version_policy: { specific: { versions: [ 1, 2 ] } }
input [
  {
    name: "images"
    data_type: TYPE_FP32
    dims: [ 3, 224, 224 ]
  }
]
output [
  {
    name: "logits"
    data_type: TYPE_FP32
    dims: [ 1000 ]
  },
  {
    name: "attn.0"
    data_type: TYPE_FP32
    dims: [ 3, -1, -1 ]
  }
]
dynamic_batching {
  max_queue_delay_microseconds: 2000
}
instance_group [
  { kind: KIND_AUTO }
]
`);
});

test('the repository: config.pbtxt and one model.onnx per version, in Triton\'s layout', () => {
  const files = tritonRepository(model, new Map([[2, Uint8Array.of(2)], [1, Uint8Array.of(1)]]));
  assert.deepEqual(Object.keys(files).sort(), ['vit/1/model.onnx', 'vit/2/model.onnx', 'vit/config.pbtxt']);
  assert.match(Buffer.from(files['vit/config.pbtxt']![0]!).toString(), /versions: \[ 1, 2 \]/);
  assert.deepEqual(files['vit/2/model.onnx'], [Uint8Array.of(2)]);
});
