import { symmetricEigen } from './src/analysis/symmetric-eigen.ts';
for (const n of [1, 2, 5, 64, 768]) {
  const a = new Float64Array(n*n);
  let s = 1; const r = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  for (let i=0;i<n;i++) for (let j=0;j<=i;j++) a[i*n+j] = a[j*n+i] = r();
  const t0 = Date.now();
  const { values, vectors } = symmetricEigen(a, n);
  const t = Date.now()-t0;
  let err = 0;
  for (let q = 0; q < Math.min(n, 10); q++) { const v = vectors[q]; for (let i=0;i<n;i++){ let acc=0; for (let j=0;j<n;j++) acc+=a[i*n+j]*v[j]; err=Math.max(err, Math.abs(acc-values[q]*v[i])); } }
  console.log(n, t, 'ms', err, values[0], values[n-1]);
}
