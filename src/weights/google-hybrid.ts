// Google's hybrid (R50+ViT) .npz names ⇄ timm's for the ResNetV2 backbone: `conv_root`, `gn_root`,
// `block{s}/unit{u}/{conv1,conv2,conv3,conv_proj}` with `gn{1,2,3}`/`gn_proj`, 1-based stages and units, HWIO
// kernels. The ViT part and the projection (`embedding`) are google.ts's.
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { permute } from './layout.ts';
import { mover } from './rename.ts';

const BACKBONE = 'patch_embed.backbone.';
const toOihw = (k: Tensor): Tensor => permute(k, [3, 2, 0, 1]); // [kH, kW, I, O] → [O, I, kH, kW]
const toHwio = (w: Tensor): Tensor => permute(w, [2, 3, 1, 0]);

/** [timm name after the backbone prefix, Google name, is a conv kernel] for every backbone tensor `names` hold. */
function pairs(googleNames: Iterable<string>, stemOnly: boolean): [string, string, boolean][] {
  const stem = stemOnly ? '' : 'stem.';
  const out: [string, string, boolean][] = [
    [`${stem}conv.weight`, 'conv_root/kernel', true],
    [`${stem}norm.weight`, 'gn_root/scale', false],
    [`${stem}norm.bias`, 'gn_root/bias', false],
  ];
  const units = new Set<string>();
  for (const n of googleNames) {
    const m = /^block(\d+)\/unit(\d+)\//.exec(n);
    if (m) units.add(`${m[1]}/${m[2]}`);
  }
  for (const u of units) {
    const [s, j] = u.split('/').map(Number) as [number, number];
    const g = `block${s}/unit${j}/`;
    const t = `stages.${s - 1}.blocks.${j - 1}.`;
    for (const r of [1, 2, 3]) {
      out.push(
        [`${t}conv${r}.weight`, `${g}conv${r}/kernel`, true],
        [`${t}norm${r}.weight`, `${g}gn${r}/scale`, false],
        [`${t}norm${r}.bias`, `${g}gn${r}/bias`, false],
      );
    }
    out.push(
      [`${t}downsample.conv.weight`, `${g}conv_proj/kernel`, true],
      [`${t}downsample.norm.weight`, `${g}gn_proj/scale`, false],
      [`${t}downsample.norm.bias`, `${g}gn_proj/bias`, false],
    );
  }
  return out;
}

/** Moves the backbone tensors of Google tensors `src` into `out` under timm names (others stay in `src`). */
export function googleBackboneToTimm(src: Map<string, Tensor>, out: StateDict): void {
  if (!src.has('conv_root/kernel')) return;
  const move = mover(src, out);
  const stemOnly = ![...src.keys()].some((n) => n.startsWith('block'));
  for (const [t, g, conv] of pairs([...src.keys()], stemOnly)) move(g, BACKBONE + t, conv ? toOihw : undefined);
}

/** Moves the backbone tensors of timm tensors `src` into `out` under Google names (others stay in `src`). */
export function timmBackboneToGoogle(src: Map<string, Tensor>, out: StateDict): void {
  const stemOnly = src.has(`${BACKBONE}conv.weight`);
  if (!stemOnly && !src.has(`${BACKBONE}stem.conv.weight`)) return;
  const units = [...src.keys()].flatMap((n) => {
    const m = /^patch_embed\.backbone\.stages\.(\d+)\.blocks\.(\d+)\./.exec(n);
    return m ? [`block${Number(m[1]) + 1}/unit${Number(m[2]) + 1}/`] : [];
  });
  const move = mover(src, out);
  for (const [t, g, conv] of pairs(units, stemOnly)) move(BACKBONE + t, g, conv ? toHwio : undefined);
}
