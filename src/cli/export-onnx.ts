// vitkit export-onnx CHECKPOINT OUT.onnx: a standalone ONNX model with a dynamic batch.
import { toOnnx } from '../graph/onnx.ts';
import { UserError } from '../errors.ts';
import { attentionKernelFor, loadModel } from '../inference/classifier.ts';
import { type ViTOutputName, inferenceGraph } from '../model/vit.ts';
import { writeFileAtomic } from '../weights/atomic-write.ts';
import { loadOptionsFromFlags, modelFlags, modelFlagsHelp, parseCommand } from './args.ts';

const help = `
Usage: vitkit export-onnx CHECKPOINT OUT.onnx [--outputs logits,pooled,attention] [--img-size N] [--force]

Writes the model as ONNX (opset 18, input "images" [batch, C, S, S] with a dynamic batch), runnable by
onnxruntime-node, onnxruntime-web and any ONNX runtime.
  --outputs LIST   graph outputs among logits, pooled, encoded, attention (attn.{i}), tokens (default logits)
  --force          overwrite OUT.onnx if it exists
  --device webgpu  write the graph form for onnxruntime's WebGPU provider (attention from standard ops; the
                   default uses onnxruntime's fused com.microsoft Attention, fastest on the CPU)
${modelFlagsHelp.replace(/\n\s+--device .*$(\n {20,}.*$)*/m, '')}
`;

const allOutputs: readonly ViTOutputName[] = ['logits', 'pooled', 'encoded', 'attention', 'tokens'];
const options = { ...modelFlags, outputs: { type: 'string' }, force: { type: 'boolean' } } as const;

/** protobuf messages are capped at 2 GiB; larger models need external data, which vitkit does not write yet. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('export-onnx', argv, options, help);
  if (!args) return;
  const [checkpoint, out, ...extra] = args.positionals;
  if (!checkpoint || !out || extra.length) throw new UserError('export-onnx: give a checkpoint and an output path (see vitkit export-onnx --help)');
  const outputs = (args.values.outputs ?? 'logits').split(',') as ViTOutputName[];
  const bad = outputs.find((o) => !allOutputs.includes(o));
  if (bad) throw new UserError(`export-onnx: unknown output '${bad}' (expected ${allOutputs.join('|')})`);
  const model = loadModel(checkpoint, loadOptionsFromFlags(args.values));
  const kernel = model.device === 'webgpu' ? attentionKernelFor('webgpu') : undefined;
  const bytes = toOnnx(inferenceGraph(model.config, model.weights, outputs, { kernel }));
  if (bytes.length > MAX_ONNX_BYTES) throw new UserError(`export-onnx: ${checkpoint} is too large for a single ONNX file (${bytes.length} bytes > 2 GiB)`);
  writeFileAtomic(out, [bytes], { force: args.values.force });
  console.log(`wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, outputs: ${outputs.join(', ')})`);
}
