// A new classifier head for fine-tuning (the paper's §3.1): drop the pre-training head and pre-logits layer and
// attach a zero-initialised D×K linear head, so the first logits are all 0 and every class is equally likely.
import type { StateDict } from '../graph/tensor.ts';
import { type ViTConfig, checkConfig, pooledDim } from './config.ts';

export function withNewHead(config: ViTConfig, weights: StateDict, numClasses: number): { config: ViTConfig; weights: StateDict } {
  const { projectionHead: _, ...rest } = config; // the new head classifies
  const out = checkConfig({ ...rest, numClasses, preLogitsDim: 0 });
  const kept: StateDict = new Map([...weights].filter(([name]) => !/^(head|head_dist|pre_logits)\./.test(name)));
  // DeiT's distillation head is replaced too (timm's reset_classifier), so both tokens keep their own head.
  for (const head of out.distToken ? ['head', 'head_dist'] : ['head']) {
    const d = pooledDim(out);
    kept.set(`${head}.weight`, { dtype: 'float32', shape: [numClasses, d], data: new Float32Array(numClasses * d) });
    kept.set(`${head}.bias`, { dtype: 'float32', shape: [numClasses], data: new Float32Array(numClasses) });
  }
  return { config: out, weights: kept };
}
