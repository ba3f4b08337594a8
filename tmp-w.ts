import { tred2 } from './src/analysis/symmetric-eigen.ts';
const n = 768; const a = new Float64Array(n*n);
let s = 1; const r = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
for (let i=0;i<n;i++) for (let j=0;j<=i;j++) a[i*n+j] = a[j*n+i] = r();
const t0 = Date.now(); tred2(a, new Float64Array(n), new Float64Array(n), n); console.log(Date.now()-t0);
