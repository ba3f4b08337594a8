import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeDirAtomic, writeFileAtomic } from '../../src/weights/atomic-write.ts';
import { assertUserError, tempDir } from './helpers.ts';

const dir = tempDir();

test('writes chunks in order, creating parent directories, leaving no temp files', () => {
  const path = join(dir, 'sub', 'a.bin');
  writeFileAtomic(path, [Buffer.from('ab'), 'cd', new Uint8Array([0x65])]);
  assert.equal(readFileSync(path, 'utf8'), 'abcde');
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.bin']);
});

test('never replaces an existing file unless forced', () => {
  const path = join(dir, 'keep.txt');
  writeFileSync(path, 'mine');
  assertUserError(() => writeFileAtomic(path, ['new']), /keep\.txt already exists/, /--force/);
  assert.equal(readFileSync(path, 'utf8'), 'mine');
  writeFileAtomic(path, ['new'], { force: true });
  assert.equal(readFileSync(path, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('writes and replaces whole directories', () => {
  const out = join(dir, 'model');
  writeDirAtomic(out, { 'a.json': ['{}'], 'b.bin': [new Uint8Array([1, 2])] });
  assert.deepEqual(readdirSync(out).sort(), ['a.json', 'b.bin']);
  assertUserError(() => writeDirAtomic(out, { 'c.txt': ['x'] }), /model already exists/);
  writeDirAtomic(out, { 'c.txt': ['x'] }, { force: true });
  assert.deepEqual(readdirSync(out), ['c.txt']);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});
