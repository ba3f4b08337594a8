// Learning-rate schedules, per step: linear warm-up, then cosine or linear decay to zero (the paper's), or constant.

export type ScheduleKind = 'cosine' | 'linear' | 'constant';

export const SCHEDULES: readonly ScheduleKind[] = ['cosine', 'linear', 'constant'];

export interface Schedule {
  readonly kind: ScheduleKind;
  /** Peak learning rate, reached at the end of warm-up. */
  readonly lr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
}

/** The learning rate for step `step` (0-based) of `totalSteps`. */
export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / decaySteps);
  return s.kind === 'cosine' ? 0.5 * s.lr * (1 + Math.cos(Math.PI * progress)) : s.lr * (1 - progress);
}
