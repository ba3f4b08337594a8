// PyTorch `torch.save` files (zip format, torch ≥ 1.6): `<root>/data.pkl` pickles the object, and each tensor's
// storage lives in `<root>/data/<key>`. Only state dicts of tensors are read, through the safe unpickler.
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { formatShape, numel } from '../graph/tensor.ts';
import { type ByteSource, withFileSource } from './byte-source.ts';
import { type RawType, decodeTensor, rawBytes } from './decode.ts';
import { type UnpickleOptions, UnpickleError, unpickle } from './pickle.ts';
import { type ZipEntry, looksLikeZip, readZip } from './zip.ts';
import { UserError } from '../errors.ts';

const storageTypes: Readonly<Record<string, RawType>> = {
  'torch.FloatStorage': 'F32', 'torch.HalfStorage': 'F16', 'torch.BFloat16Storage': 'BF16', 'torch.DoubleStorage': 'F64',
  'torch.LongStorage': 'I64', 'torch.IntStorage': 'I32', 'torch.ByteStorage': 'U8', 'torch.BoolStorage': 'BOOL',
};

/** Keys under which training checkpoints nest the weights ({'model': sd, 'optimizer': ..., 'epoch': ...}). */
const nestedKeys = ['state_dict', 'model'];

interface StorageRef {
  readonly raw: RawType;
  readonly key: string;
}

/** The one-line fix offered whenever a .pth cannot be read safely. */
function convertHint(path: string): string {
  return `convert it to safetensors with python -c "import torch, safetensors.torch as s; s.save_file(torch.load('${path}'), 'model.safetensors')"`;
}

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
  if (order && Buffer.from(order.read()).toString() !== 'little') throw new UserError(`${src.name} was saved on a big-endian machine: ${convertHint(src.name)}`);
  const storages = new Map<string, Uint8Array>();
  const storageBytes = (key: string) => {
    let b = storages.get(key);
    if (!b) {
      const e = byName.get(`${root}data/${key}`);
      if (!e) throw new UnpickleError(`storage ${key} is missing from the archive`);
      b = e.read();
      storages.set(key, b);
    }
    return b;
  };
  const rebuildTensor = ([storage, offset, size, stride]: unknown[]): Tensor => {
    const ref = storage as StorageRef;
    const shape = size as number[];
    if (!isContiguous(shape, stride as number[])) {
      throw new UserError(`${src.name} holds a non-contiguous tensor ${formatShape(shape)} (strides ${formatShape(stride as number[])}): save {k: v.contiguous() for k, v in sd.items()}, or ${convertHint(src.name)}`);
    }
    const item = rawBytes[ref.raw];
    const begin = (offset as number) * item;
    const end = begin + numel(shape) * item;
    const bytes = storageBytes(ref.key);
    if (end > bytes.length) throw new UnpickleError(`storage ${ref.key} has ${bytes.length} bytes, a tensor needs ${end}`);
    const t = decodeTensor(ref.raw, shape, bytes.subarray(begin, end));
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
      if (tag !== 'storage' || !raw || typeof key !== 'string') throw new UnpickleError(`unsupported storage reference ${JSON.stringify(pid)}`);
      return { raw, key } satisfies StorageRef;
    },
  };
  return unpickle(pkl.read(), opts);
}

/** Picks the weights out of a loaded object: the dict itself, or the one nested under 'state_dict' / 'model'. */
function findStateDict(path: string, root: unknown, tensors: Set<Tensor>): StateDict {
  let d = root;
  while (d instanceof Map && ![...d.values()].every((v) => tensors.has(v as Tensor))) {
    const inner = nestedKeys.map((k) => d instanceof Map && d.get(k)).find((v) => v instanceof Map);
    if (!inner) {
      const bad = [...d].find(([, v]) => !tensors.has(v as Tensor))?.[0];
      throw new UserError(`${path} is not a plain state dict (entry '${String(bad)}' is not a tensor, and no 'state_dict' or 'model' entry holds a dict of tensors): ${convertHint(path)}`);
    }
    d = inner;
  }
  if (!(d instanceof Map)) throw new UserError(`${path} does not hold a dict of tensors: ${convertHint(path)}`);
  const sd: StateDict = new Map([...d].map(([k, v]) => [String(k), v as Tensor]));
  // nn.DataParallel prefixes every name with 'module.'
  const keys = [...sd.keys()];
  return keys.length && keys.every((k) => k.startsWith('module.')) ? new Map([...sd].map(([k, v]) => [k.slice(7), v])) : sd;
}

/** Reads the state dict from a torch.save file (.pth/.pt/.bin), unwrapping 'state_dict' / 'model' nesting. */
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
