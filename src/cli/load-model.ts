// The model a command runs, from its checkpoint argument and the shared model flags (args.ts): a Hub id is
// downloaded first (hub-checkpoint.ts), and a checkpoint that does not say how its images were normalised gets a
// one-line notice naming the flags, instead of ImageNet's statistics being assumed silently. The notice comes when
// the command has succeeded, so that a command's error stays the one line it promises to be (`web`, a server,
// says it at once instead).
import { type LoadedModel, loadModel } from '../inference/classifier.ts';
import { type ModelFlagValues, loadOptionsFromFlags } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';
import { noteUnstatedPreprocess } from './preprocess-flags.ts';

export async function loadModelFromFlags(checkpoint: string, v: ModelFlagValues): Promise<LoadedModel> {
  const model = loadModel(await localCheckpoint(checkpoint, v.revision), loadOptionsFromFlags(v));
  process.once('exit', (code) => code === 0 && noteUnstatedPreprocess(checkpoint, model.preprocess));
  return model;
}
