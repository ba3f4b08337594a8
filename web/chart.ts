// The teach page's live chart: loss (left scale, from 0 to its highest value so far) and batch accuracy (right
// scale, 0–100%) per step, on a canvas. Small on purpose: a few lines redrawn per step, no charting library.

export interface ChartSeries {
  readonly loss: readonly number[];
  readonly accuracy: readonly number[];
  /** Steps planned: the x axis spans them from the start, so the curves grow to the right. */
  readonly steps: number;
}

const LOSS = '#c0392b';
const ACC = '#2471a3';

export function drawChart(canvas: HTMLCanvasElement, s: ChartSeries): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser has no 2D canvas');
  const { width: w, height: h } = canvas;
  const pad = { left: 40, right: 44, top: 10, bottom: 22 };
  const pw = w - pad.left - pad.right;
  const ph = h - pad.top - pad.bottom;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(pad.left, pad.top, pw, ph);
  const maxLoss = Math.max(1e-6, ...s.loss);
  const x = (i: number): number => pad.left + (s.steps > 1 ? (i / (s.steps - 1)) * pw : pw / 2);
  const line = (values: readonly number[], top: number, color: string): void => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x(i), pad.top + ph * (1 - v / top)));
    ctx.stroke();
  };
  line(s.loss, maxLoss, LOSS);
  line(s.accuracy, 1, ACC);
  ctx.fillStyle = LOSS;
  ctx.textAlign = 'right';
  ctx.fillText(maxLoss.toFixed(2), pad.left - 4, pad.top + 9);
  ctx.fillText('0', pad.left - 4, pad.top + ph);
  ctx.fillText('loss', pad.left - 4, pad.top + ph / 2);
  ctx.fillStyle = ACC;
  ctx.textAlign = 'left';
  ctx.fillText('100%', w - pad.right + 4, pad.top + 9);
  ctx.fillText('0%', w - pad.right + 4, pad.top + ph);
  ctx.fillText('acc', w - pad.right + 4, pad.top + ph / 2);
  ctx.fillStyle = '#555';
  ctx.textAlign = 'center';
  ctx.fillText(`step (of ${s.steps})`, pad.left + pw / 2, h - 6);
}
