// .safetensors files: reading (tensor by tensor, so files over 2 GiB work) and atomic writing. The byte format
// itself is safetensors-codec.ts.
import type { StateDict } from '../graph/tensor.ts';
import { withFileSource } from './file-source.ts';
import { type WriteOptions, writeFileAtomic } from './atomic-write.ts';
import { type SafetensorsContent, encodeSafetensors, parseSafetensors } from './safetensors-codec.ts';

export { type SafetensorsContent, decodeSafetensors, encodeSafetensors, parseSafetensors } from './safetensors-codec.ts';

/**
 * Reads a .safetensors file (tensors are read one at a time, so files over 2 GiB work); with `keep`, only the tensors
 * it keeps (one tower of a two-tower model, say).
 */
export function readSafetensors(path: string, keep?: (name: string) => boolean): SafetensorsContent {
  return withFileSource(path, (src) => parseSafetensors(src, keep));
}

/** Writes a .safetensors file atomically (never replacing an existing file unless `force`). */
export function writeSafetensors(path: string, tensors: StateDict, metadata: Record<string, string> = {}, opts: WriteOptions = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), opts);
}
