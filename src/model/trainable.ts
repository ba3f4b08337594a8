// What a run trains, chosen per run: the whole model, or cheap fine-tuning that leaves most weights frozen. The step
// graph then differentiates only towards the trainable tensors (autodiff/grad.ts prunes the rest), keeps optimizer
// state for them alone, and keeps no activations for a backward below the lowest trainable layer.
//
//   all      every parameter
//   head     the classifier head only (a linear probe trained by SGD/AdamW)
//   bias     every bias (BitFit, Ben Zaken et al. 2022)
//   last:K   the last K blocks and the final LayerNorm
//   lora:R   rank-R LoRA adapters on the blocks' linear layers (see lora.ts)
//
// Parts combine with commas (`lora:8,bias`). The head is trained by every choice: fine-tuning and teaching replace
// it with a zero-initialised one, and a zero head passes no gradient to anything below it, so leaving it frozen
// would train nothing (`head` may still be written, e.g. `lora:8,head`, as the PEFT recipes spell it).
import { UserError } from '../errors.ts';
import type { ViTConfig } from './config.ts';
import { type LoraOptions, checkLora, isLoraParam } from './lora.ts';
import type { GraphStart } from './step-graph.ts';

export interface TrainSelection {
  /** Every parameter (the other parts are then moot). */
  readonly all?: boolean;
  /** Every bias. */
  readonly bias?: boolean;
  /** The last K blocks (and the final LayerNorm). */
  readonly lastBlocks?: number;
  /** LoRA adapters (their tensors are extra parameters of the training graph). */
  readonly lora?: LoraOptions;
}

export const TRAIN_ALL: TrainSelection = { all: true };
export const TRAIN_HEAD: TrainSelection = {};

const USAGE = 'all|head|bias|last:K|lora:R, combined with commas';

/** Parses `--train` (e.g. `lora:8,head`); `lora` supplies the LoRA options other than the rank. */
export function parseTrainSelection(text: string, lora: Omit<LoraOptions, 'rank'> = {}): TrainSelection {
  const sel: { -readonly [K in keyof TrainSelection]: TrainSelection[K] } = {};
  const count = (part: string, v: string | undefined): number => {
    const n = Number(v);
    if (!(v && Number.isInteger(n) && n >= 1)) {
      throw new UserError(`--train ${text}: '${part}' needs a positive integer (e.g. ${part.split(':')[0]}:8)`);
    }
    return n;
  };
  for (const part of text.split(',').map((s) => s.trim())) {
    const [kind, arg, extra] = part.split(':');
    if (extra !== undefined) throw new UserError(`--train ${text}: '${part}' has too many ':' (expected ${USAGE})`);
    if (kind === 'all' && arg === undefined) sel.all = true;
    else if (kind === 'head' && arg === undefined) continue;
    else if (kind === 'bias' && arg === undefined) sel.bias = true;
    else if (kind === 'last') sel.lastBlocks = count(part, arg);
    else if (kind === 'lora') {
      try {
        sel.lora = checkLora({ ...lora, rank: count(part, arg) });
      } catch (e) {
        throw e instanceof UserError ? e : new UserError(`--train ${text}: ${(e as Error).message}`);
      }
    } else throw new UserError(`--train ${text}: unknown part '${part}' (expected ${USAGE})`);
  }
  if (sel.all && Object.keys(sel).length > 1) throw new UserError(`--train ${text}: 'all' trains everything already; pass it alone`);
  return sel;
}

/** The canonical spelling of a selection (what `--train` would take), e.g. `lora:8,head`. */
export function formatTrainSelection(sel: TrainSelection): string {
  if (sel.all) return 'all';
  const parts = [sel.lora ? `lora:${sel.lora.rank}` : '', sel.lastBlocks ? `last:${sel.lastBlocks}` : '', sel.bias ? 'bias' : '', 'head'];
  return parts.filter(Boolean).join(',');
}

/** The trainable-parameter predicate of a selection for a model (undefined: everything trains). */
export function selectionRule(cfg: ViTConfig, sel: TrainSelection): ((name: string) => boolean) | undefined {
  if (sel.all) return undefined;
  const k = sel.lastBlocks ?? 0;
  if (k > cfg.depth) throw new UserError(`--train last:${k}: the model has ${cfg.depth} blocks`);
  const firstTrained = cfg.depth - k;
  return (name) => {
    if (name.startsWith('head.')) return true;
    if (sel.lora && isLoraParam(name)) return true;
    if (sel.bias && name.endsWith('.bias')) return true;
    if (k > 0) {
      const block = /^blocks\.(\d+)\./.exec(name);
      if (block) return Number(block[1]) >= firstTrained;
      return /^(norm|fc_norm)\./.test(name);
    }
    return false;
  };
}

/** Where a step graph can start above a frozen part whose output is cached: at the head, or at a block. */
export type CachedStart = Exclude<GraphStart, 'images'>;

/**
 * Where a step graph for `sel` can start on a frozen part's cached output (train/cached-features.ts): the head's input
 * for head-only, the tokens entering block depth − K for last:K; undefined when something trains in every block.
 */
export function cachedStart(cfg: ViTConfig, sel: TrainSelection): CachedStart | undefined {
  if (sel.all || sel.bias || sel.lora) return undefined;
  return sel.lastBlocks ? { block: cfg.depth - sel.lastBlocks } : 'features';
}
