import sharp from 'sharp';
import { chartToSvg, imageGridSpec } from '/work/main/src/analysis/charts.ts';
const tile = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).png().toBuffer();
const svg = await chartToSvg(imageGridSpec(['b "x"', 'a', 'a'].map((title) => ({ title, png: tile })), { columns: 2, tileSize: 40, title: 'T' }), 1);
console.log(svg.replace(/data:image[^"]*/g, 'IMG').match(/<text[^>]*>[^<]*<\/text>/g));
