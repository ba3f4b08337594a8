// A vitkit run's continuation for train.py (`export-run --from`): the latest checkpoint's weights and step, and the
// training state a resume needs to take the next step exactly as vitkit's would: AdamW's moments and step count or
// SGD's momentum, under torch.optim's own state keys, and the EMA weights (timm ModelEmaV2's module).
import { optimizerSlots } from '../autodiff/optim.ts';
import type { Dataset } from '../data/image-set.ts';
import { UserError } from '../errors.ts';
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { parameterShapes } from '../model/params.ts';
import { stateName } from '../model/step-graph.ts';
import { STEP_KEY } from '../runtime/train-session.ts';
import type { TrainCheckpoint } from '../train/checkpoints.ts';
import type { TrainRecipe } from '../train/recipe.ts';
import { type RunToExport, uncarried } from './export-run.ts';

/** vitkit's optimizer slots (src/autodiff/optim.ts) → torch.optim's per-parameter state keys (AdamW, SGD). */
export const TORCH_STATE_KEYS: Readonly<Record<string, string>> = { m: 'exp_avg', v: 'exp_avg_sq', momentum: 'momentum_buffer' };

/** The training state a continued run carries into train.py. */
export interface CarriedState {
  /**
   * Optimizer updates done (vitkit's `optimizer.step`): torch.optim.AdamW's per-parameter `step`. Both add 1 before
   * the bias corrections 1 − β^t, so the first step train.py takes uses vitkit's next t.
   */
  readonly step: number;
  /** `<torch state key>.<parameter>` (see TORCH_STATE_KEYS), timm's parameter names; empty for SGD without momentum. */
  readonly optimizer: StateDict;
  /** The EMA weights under timm's names, when the recipe keeps an EMA. */
  readonly ema?: StateDict;
  /** The current epoch's running sums so far, as train.py keeps them (loss summed over images), for its epoch line. */
  readonly epochSums: { readonly loss: number; readonly correct: number; readonly images: number };
}

/**
 * The run that continues a vitkit checkpoint (loadTrainCheckpoint's) on the dataset it trained on, which `loadData`
 * gives. Refuses in one line what train.py cannot carry, and a checkpoint whose state is incomplete, before loading it.
 */
export async function continuedRun(
  ckpt: TrainCheckpoint & { readonly path: string }, loadData: (recipe: TrainRecipe) => Promise<Dataset>, command: string,
): Promise<RunToExport> {
  const { recipe, progress, state } = ckpt;
  const refusal = uncarried(recipe);
  if (refusal) throw new UserError(`${ckpt.path}: ${refusal}`);
  const need = (key: string): Tensor => {
    const t = state.get(key);
    const fix = 'continue from a checkpoint vitkit train wrote';
    if (!t) throw new UserError(`${ckpt.path} lacks '${key}' in its training state, so its run cannot continue exactly: ${fix}`);
    return t;
  };
  const names = [...parameterShapes(recipe.config).keys()];
  const optimizer: StateDict = new Map();
  for (const slot of optimizerSlots(recipe.optimizer)) {
    for (const n of names) optimizer.set(`${TORCH_STATE_KEYS[slot]}.${n}`, need(stateName(slot, n)));
  }
  const sums = progress.epochSums;
  const carried: CarriedState = {
    step: Number(need(STEP_KEY).data[0]),
    optimizer,
    ...(recipe.ema ? { ema: new Map(names.map((n) => [n, need(stateName('ema', n))])) } : {}),
    // vitkit sums each step's mean loss; train.py sums loss × images (every step has the global batch's images)
    epochSums: { loss: sums.loss * recipe.batch, correct: sums.correct, images: sums.images },
  };
  const init = new Map(names.map((n) => [n, need(n)]));
  return { recipe, data: await loadData(recipe), init, command, startStep: progress.step, evalEvery: 1, carried };
}
