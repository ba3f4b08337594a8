// ClipTokenizer against transformers 5.18's CLIPTokenizer on the small CLIP-style vocabulary of
// test/fixtures/clip-tokenizer (make_fixtures.py): every case of cases.json, exact ids, through vocab.json +
// merges.txt and through tokenizer.json (merges as [a, b] pairs and as "a b" strings); bad folders as one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipTokenizer } from '../../src/text/clip-tokenizer.ts';
import { tempDir } from '../data/helpers.ts';

const DIR = new URL('../fixtures/clip-tokenizer/', import.meta.url).pathname;
interface Case { text: string; maxLength: number; ids: number[]; differs?: Record<string, number[]> }
const { pad, cases, ties } = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as {
  pad: Record<string, number>;
  cases: Case[];
  ties: { text: string; ids: number[] }[];
};
const vocab = JSON.parse(readFileSync(join(DIR, 'vocab.json'), 'utf8')) as Record<string, number>;

for (const folder of ['.', 'json', 'json-strings']) {
  const from = folder === '.' ? 'vocab.json + merges.txt' : `${folder}/tokenizer.json`;
  test(`every case of cases.json equals transformers' ids, loaded from ${from}`, () => {
    const tok = ClipTokenizer.fromFolder(join(DIR, folder));
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [vocab['<|startoftext|>'], vocab['<|endoftext|>'], pad[folder]]);
    assert.ok(cases.length >= 50);
    for (const c of cases) {
      const ids = c.maxLength === 77 ? tok.encode(c.text) : tok.encode(c.text, c.maxLength);
      assert.deepEqual(ids, c.differs?.[folder] ?? c.ids, `${JSON.stringify(c.text)} at max length ${c.maxLength}`);
    }
  });
}

test('a merge that applies at overlapping places merges the leftmost first (ties/: the one merge "o o")', () => {
  const tok = ClipTokenizer.fromFolder(join(DIR, 'ties'));
  for (const c of ties) assert.deepEqual(tok.encode(c.text), c.ids, c.text);
});

test('a second encode of the same text (from the BPE cache) gives the same ids', () => {
  const tok = ClipTokenizer.fromFolder(DIR);
  const long = cases.find((c) => c.ids.length === 77)!;
  assert.deepEqual(tok.encode(long.text), tok.encode(long.text));
  assert.deepEqual(tok.encode(long.text), long.ids);
});

test('a folder without the files, broken files and a bad maximum length are one-line UserErrors', () => {
  const empty = tempDir('clip-tok');
  assert.throws(() => ClipTokenizer.fromFolder(empty), {
    name: 'UserError',
    message: `${empty} has no CLIP tokenizer: expected vocab.json and merges.txt, or tokenizer.json (as in a Hugging Face CLIP repo)`,
  });
  const broken = (files: Record<string, string>): string => {
    const d = tempDir('clip-tok');
    for (const f of ['vocab.json', 'merges.txt']) copyFileSync(join(DIR, f), join(d, f));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
    return d;
  };
  const merges = readFileSync(join(DIR, 'merges.txt'), 'utf8');
  const load = (files: Record<string, string>) => () => ClipTokenizer.fromFolder(broken(files));
  assert.throws(load({ 'vocab.json': '{"a": 0' }), /^UserError: .*vocab\.json is not valid JSON \(.*\): fix or re-download it$/);
  assert.throws(load({ 'merges.txt': `${merges}q\n` }), /merges\.txt: merge 131 \('q'\) is not two tokens 'a b'/);
  assert.throws(load({ 'merges.txt': `${merges}x yz\n` }), /merges\.txt: merge 131 \('x yz'\) needs 'yz', which is not in the vocabulary/);
  assert.throws(
    load({ 'tokenizer_config.json': '{"pad_token": "<pad>"}' }),
    /the pad token '<pad>' is not in the vocabulary: fix tokenizer_config\.json/,
  );
  const tok = ClipTokenizer.fromFolder(DIR);
  for (const n of [1, 2.5, NaN]) assert.throws(() => tok.encode('a', n), /a whole number of tokens, at least 2 \(start and end\)/);
});

test("special_tokens_map.json names the pad token (LAION's '!') unless tokenizer_config.json has added_tokens_decoder", () => {
  const d = tempDir('clip-tok');
  for (const f of ['vocab.json', 'merges.txt']) copyFileSync(join(DIR, f), join(d, f));
  writeFileSync(join(d, 'special_tokens_map.json'), JSON.stringify({ pad_token: { content: '!', lstrip: false } }));
  assert.equal(ClipTokenizer.fromFolder(d).padId, vocab['!']);
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ added_tokens_decoder: {} }));
  assert.equal(ClipTokenizer.fromFolder(d).padId, vocab['<|endoftext|>']);
});
