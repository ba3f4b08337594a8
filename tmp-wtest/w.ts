import { parentPort } from 'node:worker_threads';
import { Rng } from '../src/rng.ts';
const x: number = new Rng(1).nextU32();
parentPort!.postMessage({ x });
