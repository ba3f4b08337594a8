// A hybrid's ResNetV2 backbone from the shapes of its timm-named tensors (`patch_embed.backbone.*`): stages and
// blocks from the names, widths from the conv shapes. Backbones of another design are refused by name.
import type { StateDict } from '../graph/tensor.ts';
import { PREFIX, type ResNetV2Config, backboneShapes } from '../model/resnet-v2.ts';
import { UserError } from '../errors.ts';

/** The backbone and the image channels it reads, or undefined for a plain (patch) ViT. */
export function inferBackbone(sd: StateDict, file: string): { backbone: ResNetV2Config; inChans: number } | undefined {
  const names = [...sd.keys()].filter((k) => k.startsWith(PREFIX));
  if (names.length === 0) return undefined;
  const stemOnly = sd.has(`${PREFIX}conv.weight`);
  const stem = sd.get(`${PREFIX}${stemOnly ? '' : 'stem.'}conv.weight`);
  const unknown = (name: string) =>
    new UserError(`${file}: unknown hybrid backbone parameter '${name}' (vitkit knows timm's ResNetV2 hybrids, vit_*_r*)`);
  if (!stem || stem.shape.length !== 4) throw unknown(names[0]!); // no ResNetV2 stem: nothing here is known
  const layers: number[] = [];
  const channels: number[] = [];
  for (let i = 0; sd.has(`${PREFIX}stages.${i}.blocks.0.conv3.weight`); i++) {
    let blocks = 0;
    while (sd.has(`${PREFIX}stages.${i}.blocks.${blocks}.conv1.weight`)) blocks++;
    layers.push(blocks);
    channels.push(sd.get(`${PREFIX}stages.${i}.blocks.0.conv3.weight`)!.shape[0]!);
  }
  const backbone: ResNetV2Config = { stemChs: stem.shape[0]!, layers, channels };
  const known = new Set(backboneShapes(backbone, stem.shape[1]!).map(([n]) => n));
  const stray = names.find((n) => !known.has(n));
  if (stray) throw unknown(stray);
  return { backbone, inChans: stem.shape[1]! };
}
