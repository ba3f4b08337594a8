// The small tensors' updates packed into one, as PyTorch's multi-tensor ("foreach") optimizers do on CUDA. On a GPU
// every node is a kernel dispatch with a fixed cost on the host (docs/gpu.md, "What a node costs"), and clipping and
// AdamW spend ~16 nodes on each tensor however small: the `npm start` model's step spent 725 of its 1,275 nodes on its
// 44 tensors' update. Tensors under a size (PACK_BELOW on WebGPU) are flattened and concatenated, one pack per
// weight-decay setting, updated as one tensor and split back into their own names; larger tensors keep their own
// update, since packing them would copy their memory to save dispatches that are a small part of their work. On the
// CPU nothing is packed: there a node costs little, and the packs' copies made the `npm start` step 0.3–3% slower.
// The update is elementwise, so each element's new value is what its own update gives; only the clipping norm sums
// its squares in another order.
import type { Value } from '../graph/graph.ts';
import { numel } from '../graph/tensor.ts';
import { concat, reshape, split } from '../ops/shape.ts';

/** On WebGPU, tensors below this many elements (256 KB of float32) are packed. */
export const PACK_BELOW = 65_536;

/** The packing size for a device: PACK_BELOW on WebGPU, 0 (nothing packed) on the CPU. */
export const packBelowFor = (device: 'cpu' | 'webgpu' | undefined): number => (device === 'webgpu' ? PACK_BELOW : 0);

/**
 * A WebGPU shader binds at most 8 storage buffers by default (SwiftShader 12): a Split's input and its outputs are
 * each one, so a pack splits back in a tree of Splits of at most this many parts.
 */
const SPLIT_FAN_OUT = 7;

/** The tensors updated as one: a large tensor alone, or a pack of small ones with the same weight decay. */
export interface UpdateGroup {
  /** The tensor's own name, or the pack's (`packed.decay` / `packed.no_decay`), which names no graph input. */
  readonly name: string;
  readonly members: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly decay: boolean;
}

/**
 * Groups the trainable tensors for the update: each one of `below` elements or more alone, in order, then a pack per
 * decay setting of the smaller ones (none with `below` 0).
 */
export function updateGroups(shapes: ReadonlyMap<string, readonly number[]>, decay: (name: string) => boolean, below: number): UpdateGroup[] {
  const groups: UpdateGroup[] = [];
  const packs = new Map<boolean, { name: string; shape: readonly number[] }[]>([[true, []], [false, []]]);
  for (const [name, shape] of shapes) {
    if (numel(shape) >= below) groups.push({ name, members: [{ name, shape }], decay: decay(name) });
    else packs.get(decay(name))!.push({ name, shape });
  }
  for (const [d, members] of packs) {
    if (members.length === 1) groups.push({ name: members[0]!.name, members, decay: d });
    else if (members.length > 1) groups.push({ name: d ? 'packed.decay' : 'packed.no_decay', members, decay: d });
  }
  return groups;
}

/** The group's values (one per member, in order) as one tensor: the value itself for a single member. */
export function pack(group: UpdateGroup, values: readonly Value[]): Value {
  return group.members.length === 1 ? values[0]! : concat(values.map((v) => (v.rank === 1 ? v : reshape(v, [-1]))), 0);
}

/** A group's updated value back as its members' values, each with its shape and the name `name(member)` gives. */
export function unpack(group: UpdateGroup, packed: Value, name: (member: string) => string): Value[] {
  if (group.members.length === 1) return [packed];
  // 1-D members are named by the Split that makes them; the others by the Reshape back to their shape
  const leaves = group.members.map((m) => ({ size: numel(m.shape), name: m.shape.length === 1 ? name(m.name) : undefined }));
  const parts = splitTree(packed, leaves);
  return group.members.map((m, i) => (m.shape.length === 1 ? parts[i]! : reshape(parts[i]!, m.shape, name(m.name))));
}

/** Splits a 1-D value into leaves of the given sizes (named where given), at most SPLIT_FAN_OUT parts per Split. */
function splitTree(x: Value, leaves: readonly { readonly size: number; readonly name?: string }[]): Value[] {
  if (leaves.length <= SPLIT_FAN_OUT) return split(x, 0, leaves.map((l) => l.size), leaves.map((l) => l.name));
  const per = Math.ceil(leaves.length / SPLIT_FAN_OUT);
  const chunks = Array.from({ length: Math.ceil(leaves.length / per) }, (_, i) => leaves.slice(i * per, (i + 1) * per));
  const sizes = chunks.map((c) => c.reduce((sum, l) => sum + l.size, 0));
  const parts = split(x, 0, sizes, chunks.map((c) => (c.length === 1 ? c[0]!.name : undefined)));
  return chunks.flatMap((c, i) => (c.length === 1 ? [parts[i]!] : splitTree(parts[i]!, c)));
}
