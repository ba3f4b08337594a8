// Turning logits into ranked classes. Pure maths, no `node:` imports: the browser demo ranks with it too.

/** One ranked class: its index in the head, its name, and its softmax probability. */
export interface Prediction {
  readonly index: number;
  readonly label: string;
  readonly prob: number;
}

/** Softmax over one row of logits and its k most probable classes. */
export function topK(logits: ArrayLike<number>, k: number, labels: readonly string[]): Prediction[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const e = Array.from(logits, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e
    .map((v, index) => ({ index, label: labels[index] ?? String(index), prob: v / sum }))
    .sort((a, b) => b.prob - a.prob)
    .slice(0, k);
}
