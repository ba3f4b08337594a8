import { Worker } from 'node:worker_threads';
const tsx = import.meta.resolve('tsx/esm/api');
const url = new URL('./w.ts', import.meta.url).href;
const t0 = performance.now();
const w = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`, { eval: true, execArgv: [] });
w.on('message', (m) => { console.log('msg', m, performance.now() - t0); w.terminate(); });
w.on('error', (e) => console.log('err', e));
