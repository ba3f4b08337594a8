// Classification metrics accumulated batch by batch: top-1/top-k accuracy and a confusion matrix.

export interface AccuracyResult {
  readonly top1: number;
  readonly top5: number;
  readonly n: number;
}

/** Accumulates predictions from [B, K] logits rows against integer labels. */
export class AccuracyMeter {
  private n = 0;
  private hits1 = 0;
  private hits5 = 0;
  /** confusion[label * K + predicted] counts. */
  readonly confusion: Int32Array;

  constructor(readonly numClasses: number) {
    this.confusion = new Int32Array(numClasses * numClasses);
  }

  /** Adds a batch: `logits` holds labels.length rows of numClasses scores. */
  add(logits: Float32Array, labels: ArrayLike<number>): void {
    const k = this.numClasses;
    for (let b = 0; b < labels.length; b++) {
      const row = logits.subarray(b * k, (b + 1) * k);
      const label = labels[b]!;
      const score = row[label]!;
      let rank = 0; // how many classes score strictly higher than the true one
      let best = 0;
      for (let c = 0; c < k; c++) {
        if (row[c]! > score) rank++;
        if (row[c]! > row[best]!) best = c;
      }
      this.n++;
      if (rank === 0) this.hits1++;
      if (rank < 5) this.hits5++;
      this.confusion[label * k + best]!++;
    }
  }

  result(): AccuracyResult {
    return { top1: this.n ? this.hits1 / this.n : 0, top5: this.n ? this.hits5 / this.n : 0, n: this.n };
  }
}
