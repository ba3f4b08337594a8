// vitkit export-onnx CHECKPOINT OUT.onnx: a standalone ONNX model with a dynamic batch.
import { resolvePreprocessOptions } from '../data/preprocess.ts';
import { toOnnx } from '../graph/onnx.ts';
import { UserError } from '../errors.ts';
import { attentionKernelFor } from '../model/fused-attention.ts';
import { type ViTOutputName, inferenceGraph } from '../model/inference-graph.ts';
import { assertWritable, writeDirAtomic, writeFileAtomic } from '../weights/atomic-write.ts';
import type { Graph, Value } from '../graph/graph.ts';
import type { StateDict } from '../graph/tensor.ts';
import { dequantizeWeights, isQuantized, quantizeWeights } from '../model/int8.ts';
import { tritonRepository } from '../serve/triton.ts';
import { modelFlags, modelFlagsHelp, numberFlag, parseCommand } from './args.ts';
import { loadModelFromFlags } from './load-model.ts';
import { printJson } from './json-output.ts';
import { labelsFile, preprocessFlags } from './preprocess-flags.ts';

const help = `
Usage: vitkit export-onnx CHECKPOINT OUT.onnx [--outputs logits,pooled,attention] [--img-size N] [--labels FILE]
                         [--force] [--json]
       vitkit export-onnx CHECKPOINT --triton REPO [--model-name NAME] [--max-batch N] [options above]

Writes the model as ONNX (opset 18, input "images" [batch, C, S, S] with a dynamic batch), runnable by
onnxruntime-node, onnxruntime-web and any ONNX runtime. The model's metadata_props say how to prepare its input
and name its classes: "preprocess" (JSON: image_size, resize, crop_pct, interpolation, mean, std; the
checkpoint's, or the flags below) and "labels" (JSON list).
  --outputs LIST   graph outputs among logits, pooled, encoded, attention (attn.{i}), tokens (default logits;
                   pooled for a checkpoint without a classifier head)
  --labels FILE    class names, one per line in class order (default: the checkpoint's)
  --triton REPO    write a Triton Inference Server model repository instead: REPO/NAME/config.pbtxt (onnxruntime
                   backend, dynamic batching, input and output names and shapes), 1/model.onnx (float32) and
                   2/model.onnx (its int8 twin, as vitkit quantize makes it)
  --model-name N   the model's name in the repository (default vit)
  --max-batch N    the largest batch Triton's dynamic batcher forms (default 32)
  --force          overwrite OUT.onnx (or REPO) if it exists
  --json           print {"input", "output", "outputs", "precision", "bytes"}
  --device webgpu  write the graph form for onnxruntime's WebGPU provider (attention from standard ops; the
                   default uses onnxruntime's fused com.microsoft Attention, fastest on the CPU)
  --precision fp16 write a float16 graph (float32 input and outputs; attention from standard ops), for GPUs
${modelFlagsHelp.replace(/\n\s+--device .*$(\n {20,}.*$)*/m, '')}
`;

const allOutputs: readonly ViTOutputName[] = ['logits', 'pooled', 'encoded', 'attention', 'tokens'];
const options = {
  ...modelFlags, labels: preprocessFlags.labels, outputs: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' },
  triton: { type: 'string' }, 'model-name': { type: 'string' }, 'max-batch': { type: 'string' },
} as const;

/** protobuf messages are capped at 2 GiB; larger models need external data, which vitkit does not write yet. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('export-onnx', argv, options, help);
  if (!args) return;
  const v = args.values;
  const [checkpoint, onnxPath, ...extra] = args.positionals;
  const out = v.triton ?? onnxPath;
  if (!checkpoint || !out || extra.length || (v.triton && onnxPath)) {
    throw new UserError('export-onnx: give a checkpoint and an output path, or --triton REPO instead of the path (see vitkit export-onnx --help)');
  }
  const maxBatch = numberFlag('max-batch', v['max-batch'], 32, { integer: true, min: 1 });
  const name = v['model-name'] ?? 'vit';
  if (!/^[\w.-]+$/.test(name)) throw new UserError(`--model-name '${name}': use letters, digits, '_', '.' and '-' (it names a folder)`);
  const asked = v.outputs?.split(',') as ViTOutputName[] | undefined;
  const bad = asked?.find((o) => !allOutputs.includes(o));
  if (bad) throw new UserError(`export-onnx: unknown output '${bad}' (expected ${allOutputs.join('|')})`);
  assertWritable(out, { force: v.force });
  const model = await loadModelFromFlags(checkpoint, v);
  const headless = model.config.numClasses === 0;
  if (headless && asked?.includes('logits')) {
    throw new UserError(`export-onnx: ${checkpoint} has no classifier head, so no logits: export its features with --outputs pooled (or encoded)`);
  }
  const outputs = asked ?? [headless ? 'pooled' : 'logits'];
  const labels = v.labels === undefined ? model.labels : labelsFile(v.labels, model.config.numClasses);
  const p = resolvePreprocessOptions(model.preprocess);
  const metadata = {
    preprocess: JSON.stringify({
      image_size: p.imgSize, resize: p.resize, crop_pct: p.cropPct, interpolation: p.interpolation, mean: p.mean, std: p.std,
    }),
    ...(headless ? {} : { labels: JSON.stringify(labels) }),
  };
  const kernel = model.device === 'webgpu' ? attentionKernelFor('webgpu') : undefined;
  const graphOf = (weights: StateDict) => inferenceGraph(model.config, weights, outputs, { kernel, float16: model.precision === 'fp16' });
  const onnxOf = (graph: Graph) => {
    const bytes = toOnnx(graph, 'vitkit', metadata);
    if (bytes.length > MAX_ONNX_BYTES) {
      throw new UserError(`export-onnx: ${checkpoint} is too large for a single ONNX file (${bytes.length} bytes > 2 GiB)`);
    }
    return bytes;
  };
  if (v.triton && model.precision === 'fp16') {
    throw new UserError('export-onnx: --triton writes a float32 and an int8 version; drop --precision fp16');
  }
  const graph = graphOf(model.weights);
  const bytes = onnxOf(graph);
  if (v.triton) {
    // version 1 in float32 (an int8 checkpoint's dequantized weights), version 2 its int8 twin
    const float = isQuantized(model.weights) ? dequantizeWeights(model.config, model.weights) : model.weights;
    const versions = new Map([
      [1, float === model.weights ? bytes : onnxOf(graphOf(float))],
      [2, onnxOf(graphOf(quantizeWeights(model.config, float)))],
    ]);
    const signature = (x: Value) => ({ name: x.name, dims: x.shape.slice(1).map((d) => (typeof d === 'number' ? d : -1)) });
    const files = tritonRepository(
      { name, maxBatchSize: maxBatch, input: signature(graph.inputs[0]!), outputs: graph.outputs.map(signature) },
      versions,
    );
    writeDirAtomic(out, files, { force: v.force });
    if (v.json) printJson({ input: checkpoint, output: out, model: name, outputs, versions: [1, 2], max_batch: maxBatch });
    else console.log(`wrote ${out}/${name}: config.pbtxt, 1/model.onnx (float32), 2/model.onnx (int8); outputs: ${outputs.join(', ')}`);
    return;
  }
  writeFileAtomic(out, [bytes], { force: v.force });
  if (v.json) printJson({ input: checkpoint, output: out, outputs, precision: model.precision, bytes: bytes.length });
  else console.log(`wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, outputs: ${outputs.join(', ')})`);
}
