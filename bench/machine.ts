// What every benchmark figure is printed with: the CPU it was measured on (these machines share a name but not
// a CPU, and sgemm speed varies 4× between them) and the Python that ran the reference.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly avx2: boolean;
  readonly avx512: boolean;
  /** Integer dot-product instructions that int8 matrix kernels use (AVX512-VNNI or AVX-VNNI). */
  readonly vnni: boolean;
  readonly amx: boolean;
  /** The 1-minute load average when read: above `cores`, other work shared the CPU and slowed every side. */
  readonly load: number;
}

export function machine(): Machine {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: report what Node knows
  }
  const field = (name: string) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim() ?? '';
  const flags = new Set(field('flags').split(/\s+/));
  return {
    cpu: field('model name') || 'unknown',
    cores: availableParallelism(),
    avx2: flags.has('avx2'),
    avx512: flags.has('avx512f'),
    vnni: flags.has('avx512_vnni') || flags.has('avx_vnni'),
    amx: flags.has('amx_tile'),
    load: loadavg()[0],
  };
}

/** The Python that runs the PyTorch/onnxruntime references: $VITKIT_PYTHON, else python3. */
export const python = process.env.VITKIT_PYTHON ?? 'python3';
