// PyTorch `torch.save` files (zip format, torch ≥ 1.6): `<root>/data.pkl` pickles the object, and each tensor's
// storage lives in `<root>/data/<key>`. Only state dicts of tensors are read, through the safe unpickler.
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { formatShape, numel, tensor } from '../graph/tensor.ts';
import { type ByteSource, corrupt } from './byte-source.ts';
import { withFileSource } from './file-source.ts';
import { type RawType, decodeTensor, rawBytes } from './decode.ts';
import { type UnpickleOptions, UnpickleError, unpickle } from './pickle.ts';
import { type ZipEntry, looksLikeZip, readZip } from './zip.ts';
import { UserError, shown } from '../errors.ts';

const storageTypes: Readonly<Record<string, RawType>> = {
  'torch.FloatStorage': 'F32', 'torch.HalfStorage': 'F16', 'torch.BFloat16Storage': 'BF16', 'torch.DoubleStorage': 'F64',
  'torch.LongStorage': 'I64', 'torch.IntStorage': 'I32', 'torch.ByteStorage': 'U8', 'torch.BoolStorage': 'BOOL',
};

/**
 * Keys under which training checkpoints nest the weights ({'model': sd, 'optimizer': ..., 'epoch': ...}). timm's
 * train.py saves `state_dict` and, with --model-ema, `state_dict_ema`: the EMA wins, as in timm's own
 * load_checkpoint (use_ema=True) and as vitkit evaluates and saves a run's EMA.
 */
const nestedKeys = ['state_dict_ema', 'state_dict', 'model'];

/** What BINPERSID yields for a storage; `_rebuild_tensor_v2` accepts only these (a class, so a pickle cannot forge one). */
class StorageRef {
  constructor(
    readonly raw: RawType,
    readonly key: string,
  ) {}
}

/**
 * Tensors may share storage (tied weights, views): together they may cover the archive's storage bytes this many
 * times over. Honest checkpoints stay near 1; a pickle that points 300 tensors at one storage does not.
 */
const MAX_STORAGE_REUSE = 2;
/** More dimensions than any real tensor has (torch allows 64). */
const MAX_RANK = 64;

/** The one-line fix offered whenever a .pth cannot be read safely. */
function convertHint(path: string): string {
  return `convert it to safetensors with python -c "import torch, safetensors.torch as s; s.save_file(torch.load('${path}'), 'model.safetensors')"`;
}

const isNat = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isDims = (v: unknown): v is number[] => Array.isArray(v) && v.length <= MAX_RANK && v.every(isNat);

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i]!;
  }
  return true;
}

function unpickleArchive(src: ByteSource, entries: ZipEntry[], tensors: Set<Tensor>): unknown {
  const pkl = entries.find((e) => e.name.endsWith('data.pkl') && e.name.split('/').length === 2);
  if (!pkl) {
    const kind = entries.some((e) => e.name.endsWith('constants.pkl')) ? 'a TorchScript archive' : 'a zip without data.pkl';
    throw new UserError(`${src.name} is ${kind}, not a torch.save state dict: save model.state_dict() with torch.save, or ${convertHint(src.name)}`);
  }
  const root = pkl.name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order = byName.get(`${root}byteorder`);
  if (order && Buffer.from(order.read()).toString() !== 'little') {
    throw new UserError(`${src.name} was saved on a big-endian machine: ${convertHint(src.name)}`);
  }
  const storageBytes = entries.filter((e) => e.name.startsWith(`${root}data/`)).reduce((a, e) => a + e.size, 0);
  let referenced = 0;
  // each storage is read and decoded once; its tensors are views of it
  const storages = new Map<string, Tensor>();
  const storage = (ref: StorageRef) => {
    let st = storages.get(ref.key);
    if (!st) {
      const e = byName.get(`${root}data/${ref.key}`);
      if (!e) throw new UnpickleError(`storage ${shown(ref.key)} is missing from the archive`);
      const bytes = e.read();
      const item = rawBytes[ref.raw];
      if (bytes.length % item !== 0) {
        throw new UnpickleError(`storage ${shown(ref.key)} has ${bytes.length} bytes, not a whole number of ${item}-byte ${ref.raw} elements`);
      }
      st = decodeTensor(ref.raw, [bytes.length / item], bytes);
      storages.set(ref.key, st);
    }
    return st;
  };
  const rebuildTensor = ([ref, offset, shape, stride]: unknown[]): Tensor => {
    if (!(ref instanceof StorageRef)) throw new UnpickleError(`a tensor's storage is ${shown(ref)}, not a storage reference`);
    if (!isNat(offset) || !isDims(shape) || !isDims(stride) || stride.length !== shape.length) {
      throw new UnpickleError(`a tensor over storage ${shown(ref.key)} has an invalid offset, size or stride`);
    }
    if (!isContiguous(shape, stride)) {
      throw new UserError(
        `${src.name} holds a non-contiguous tensor ${formatShape(shape)} (strides ${formatShape(stride)}): ` +
          `save {k: v.contiguous() for k, v in sd.items()}, or ${convertHint(src.name)}`,
      );
    }
    const st = storage(ref);
    const n = numel(shape);
    if (offset + n > st.data.length) {
      throw new UnpickleError(`storage ${shown(ref.key)} has ${st.data.length} elements, a tensor needs ${offset + n}`);
    }
    referenced += n * rawBytes[ref.raw];
    if (referenced > MAX_STORAGE_REUSE * storageBytes) {
      throw new UnpickleError(
        `tensors over storage ${shown(ref.key)} add up to more than ${MAX_STORAGE_REUSE}× the archive's ${storageBytes} storage bytes`,
      );
    }
    const t = tensor(st.dtype, shape, st.data.subarray(offset, offset + n));
    tensors.add(t);
    return t;
  };
  const opts: UnpickleOptions = {
    callables: {
      'collections.OrderedDict': () => new Map(),
      'torch._utils._rebuild_tensor_v2': rebuildTensor,
      'torch._utils._rebuild_parameter': ([data]) => data,
    },
    persistentLoad(pid) {
      const [tag, type, key] = Array.isArray(pid) ? pid : [];
      const raw = storageTypes[(type as { global?: string } | undefined)?.global ?? ''];
      if (tag !== 'storage' || !raw || typeof key !== 'string') throw new UnpickleError(`unsupported storage reference ${shown(pid)}`);
      return new StorageRef(raw, key);
    },
  };
  return unpickle(pkl.read(), opts);
}

/**
 * Picks the weights out of a loaded object: the dict itself, or the one nested under 'state_dict_ema' / 'state_dict' / 'model'.
 * A pickle can make a dict contain itself, so each dict is visited once.
 */
function findStateDict(path: string, root: unknown, tensors: Set<Tensor>): StateDict {
  const seen = new Set<unknown>();
  let d = root;
  while (d instanceof Map && ![...d.values()].every((v) => tensors.has(v as Tensor))) {
    seen.add(d);
    const key = nestedKeys.find((k) => d instanceof Map && d.get(k) instanceof Map);
    if (!key) {
      const bad = [...d].find(([, v]) => !tensors.has(v as Tensor))?.[0];
      throw new UserError(
        `${path} is not a plain state dict (entry ${shown(bad)} is not a tensor, ` +
          `and no 'state_dict_ema', 'state_dict' or 'model' entry holds a dict of tensors): ${convertHint(path)}`,
      );
    }
    const inner: unknown = d.get(key);
    if (seen.has(inner)) throw corrupt({ name: path }, `its '${key}' entry refers to itself`);
    d = inner;
  }
  if (!(d instanceof Map)) throw new UserError(`${path} does not hold a dict of tensors: ${convertHint(path)}`);
  const badKey = [...d.keys()].find((k) => typeof k !== 'string');
  if (badKey !== undefined) throw corrupt({ name: path }, `a tensor's name is ${shown(badKey)}, not a string`);
  const sd: StateDict = new Map(d as Map<string, Tensor>);
  // nn.DataParallel prefixes every name with 'module.'
  const keys = [...sd.keys()];
  return keys.length && keys.every((k) => k.startsWith('module.')) ? new Map([...sd].map(([k, v]) => [k.slice(7), v])) : sd;
}

/** Reads the state dict from a torch.save file (.pth/.pt/.bin), unwrapping 'state_dict_ema' / 'state_dict' / 'model' nesting (timm's .pth.tar). */
export function parsePth(src: ByteSource): StateDict {
  if (!looksLikeZip(src)) {
    throw new UserError(`${src.name} is not a zip-format torch.save file (legacy pre-1.6 format or not PyTorch at all): ${convertHint(src.name)}`);
  }
  const tensors = new Set<Tensor>();
  try {
    return findStateDict(src.name, unpickleArchive(src, readZip(src), tensors), tensors);
  } catch (e) {
    if (e instanceof UnpickleError) throw new UserError(`${src.name} cannot be read safely (${e.message}): ${convertHint(src.name)}`);
    throw e;
  }
}

/** Reads a .pth/.pt/.bin file from disk. */
export function readPth(path: string): StateDict {
  return withFileSource(path, parsePth);
}
