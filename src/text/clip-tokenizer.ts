// CLIP's byte-level BPE tokenizer, as transformers 5.18's CLIPTokenizer (the tokenizers-backed one) runs it:
// special tokens matched in the raw text; the rest NFC-normalized, whitespace runs made one space, lower-cased;
// split by CLIP's regex; each piece as GPT-2's byte symbols, its last one with '</w>', merged by BPE rank;
// <|startoftext|> … <|endoftext|> around, truncated to the maximum length keeping the end token.
// Checked on every code point against tokenizers 0.23: NFC, white space and lower case agree alone; they differ on 21
// compositions (Vithkuqi, Dives Akuru, Tulu-Tigalari, Gurung Khema, Kirat Rai) that Node's ICU makes and tokenizers'
// older tables do not, e.g. U+16D67 U+16D67 → U+16D68, left as Node composes them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, shown } from '../errors.ts';
import { readJson } from '../weights/hf-dir.ts';

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for code points from 256 up. */
const BYTE_SYMBOL: readonly string[] = (() => {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
})();

// Oniguruma's \s (what tokenizers' Regex means by it), which is not JavaScript's: U+0085 is white space there, U+FEFF
// is not. The normalizer turns every run of it into one space; the split regex below must not treat U+FEFF as space.
const WS = '\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${WS}]+`, 'gu');
// The letters and digits new in Unicode 17.0, which tokenizers 0.23's regex tables (Unicode 16) class with the
// punctuation: found by classing every code point with transformers' split and with this one on Node 20 (Unicode 17).
const UNICODE_17 = `[${[
  '88f', 'c5c', 'cdc', 'a7ce-a7cf', 'a7d2', 'a7d4', 'a7f1', '10940-10959', '10ec5-10ec7', '11db0-11ddb', '11de0-11de9',
  '16ea0-16eb8', '16ebb-16ed3', '16ff2-16ff6', '187f8-187ff', '18d09-18d1e', '18d80-18df2', '1e6c0-1e6de', '1e6e0-1e6e2',
  '1e6e4-1e6e5', '1e6e7-1e6ed', '1e6f0-1e6f4', '1e6fe-1e6ff', '2b73a-2b73f', '2cea2-2cead', '323b0-33479',
].map((r) => r.replace(/[0-9a-f]+/g, '\\u{$&}')).join('')}]`;
const [LETTER, DIGIT] = [`(?:(?!${UNICODE_17})\\p{L})`, `(?:(?!${UNICODE_17})\\p{N})`];
const OTHER = `(?:[^${WS}\\p{L}\\p{N}]|${UNICODE_17})`;
// CLIP's split regex. transformers' also lists <|startoftext|> and <|endoftext|> first, but its ByteLevel
// pre-tokenizer then re-splits with GPT-2's regex, cutting them into '<|', 'endoftext', '|>' as this one does.
const PIECE = new RegExp(`'s|'t|'re|'ve|'m|'ll|'d|${LETTER}+|${DIGIT}|${OTHER}+`, 'gu');
/** tokenizers' Lowercase maps each character alone: no final sigma, which is String.toLowerCase's only context rule. */
const lower = (s: string): string => s.replace(/Σ/g, 'σ').toLowerCase();

const UTF8 = new TextEncoder();
const BPE_CACHE_SIZE = 10_000; // pieces kept, as tokenizers' own BPE cache: prompts repeat words, arbitrary text may not

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  /** The padding id: the pad token of tokenizer_config.json / special_tokens_map.json, else <|endoftext|>. */
  readonly padId: number;
  private readonly unkId: number;
  private readonly cache = new Map<string, readonly number[]>();
  /** The special tokens, found in the text as they are (before normalization), longest first. */
  private readonly specialText: RegExp;

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    /** Rank of each merge, keyed 'a b' (byte symbols never hold a space: it is 'Ġ'). */
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly specials: ReadonlyMap<string, number>,
    names: { bos: string; eos: string; unk: string; pad: string },
  ) {
    const id = (n: string): number => specials.get(n)!;
    [this.bosId, this.eosId, this.unkId, this.padId] = [id(names.bos), id(names.eos), id(names.unk), id(names.pad)];
    const longestFirst = [...specials.keys()].sort((a, b) => b.length - a.length);
    this.specialText = new RegExp(`(${longestFirst.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'u');
  }

  /**
   * From a Hugging Face folder: vocab.json + merges.txt, else tokenizer.json (model.vocab / model.merges, merges as
   * "a b" strings or [a, b] pairs). Special tokens as tokenizer_config.json / special_tokens_map.json name them
   * (CLIP's by default) and tokenizer.json's added_tokens. One-line UserError naming the folder and the files
   * expected when neither.
   */
  static fromFolder(dir: string): ClipTokenizer {
    const file = (f: string): string | undefined => (existsSync(join(dir, f)) ? join(dir, f) : undefined);
    const [vocabFile, mergesFile, jsonFile] = [file('vocab.json'), file('merges.txt'), file('tokenizer.json')];
    const tokenizerJson = jsonFile ? readJson(jsonFile) : undefined;
    let vocab: Map<string, number>;
    let ranks: Map<string, number>;
    if (vocabFile && mergesFile) {
      vocab = readVocab(readJson(vocabFile), vocabFile);
      ranks = readMerges(mergesFile, vocab);
    } else if (tokenizerJson) {
      const model = tokenizerJson.model as { vocab?: unknown; merges?: unknown } | undefined;
      vocab = readVocab(model?.vocab, `${jsonFile}'s model.vocab`);
      ranks = mergeRanks(Array.isArray(model?.merges) ? model.merges : undefined, `${jsonFile}'s model.merges`, vocab);
    } else {
      throw new UserError(
        `${dir} has no CLIP tokenizer: expected vocab.json and merges.txt, or tokenizer.json (as in a Hugging Face CLIP repo)`,
      );
    }
    const [configFile, mapFile] = [file('tokenizer_config.json'), file('special_tokens_map.json')];
    const config = configFile ? readJson(configFile) : {};
    // transformers reads special_tokens_map.json only for configs written before added_tokens_decoder existed
    const map = mapFile && !('added_tokens_decoder' in config) ? readJson(mapFile) : {};
    const name = (key: string, fallback: string): string => tokenName(map[key]) ?? tokenName(config[key]) ?? fallback;
    const names = {
      bos: name('bos_token', '<|startoftext|>'),
      eos: name('eos_token', '<|endoftext|>'),
      unk: name('unk_token', '<|endoftext|>'),
      pad: name('pad_token', '<|endoftext|>'),
    };
    const specials = new Map<string, number>();
    for (const t of Array.isArray(tokenizerJson?.added_tokens) ? tokenizerJson.added_tokens : []) {
      const { content, id } = (t ?? {}) as { content?: unknown; id?: unknown };
      if (typeof content === 'string' && content && Number.isInteger(id)) specials.set(content, id as number);
    }
    for (const [key, n] of Object.entries(names)) {
      const id = specials.get(n) ?? vocab.get(n);
      if (id === undefined) {
        throw new UserError(`${dir}: the ${key} token ${shown(n)} is not in the vocabulary: fix tokenizer_config.json`);
      }
      specials.set(n, id);
    }
    return new ClipTokenizer(vocab, ranks, specials, names);
  }

  /** Token ids of one text: <|startoftext|> … <|endoftext|>, truncated to `maxLength` (default 77) keeping the end
   *  token. Special tokens written in the text are those tokens, as transformers matches them. */
  encode(text: string, maxLength = 77): number[] {
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new UserError(
        `a CLIP text's maximum length must be a whole number of tokens, at least 2 (start and end): got ${maxLength}`,
      );
    }
    const ids = [this.bosId];
    const room = maxLength - 1; // the end token's place is kept
    // split(capturing regex) alternates text and special tokens
    for (const [i, part] of text.split(this.specialText).entries()) {
      if (ids.length >= room) break;
      if (i % 2 === 1) ids.push(this.specials.get(part)!);
      else for (const [piece] of lower(part.normalize('NFC').replace(WS_RUN, ' ')).matchAll(PIECE)) {
        if (ids.length >= room) break;
        for (const id of this.bpe(piece)) ids.push(id); // not push(...): a piece can be longer than the stack
      }
    }
    ids.length = Math.min(ids.length, room);
    ids.push(this.eosId);
    return ids;
  }

  /** One piece's ids: its UTF-8 bytes as symbols, the last with '</w>', merging the lowest-ranked pair (then the
   *  leftmost) until none is a merge, as tokenizers' BPE does. A symbol not in the vocabulary is the unknown token. */
  private bpe(piece: string): readonly number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    const symbols = Array.from(UTF8.encode(piece), (b) => BYTE_SYMBOL[b]!);
    symbols[symbols.length - 1] += '</w>';
    for (;;) {
      let [best, at] = [Infinity, -1];
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < best) [best, at] = [rank, i];
      }
      if (at < 0) break;
      symbols.splice(at, 2, symbols[at]! + symbols[at + 1]!);
    }
    const ids = symbols.map((s) => this.vocab.get(s) ?? this.unkId);
    if (this.cache.size < BPE_CACHE_SIZE) this.cache.set(piece, ids);
    return ids;
  }
}

/** A token named in a config: a string, or an AddedToken object {content}; null or absent is not given. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  const content = (v as { content?: unknown } | null | undefined)?.content;
  return typeof content === 'string' ? content : undefined;
}

function readVocab(v: unknown, where: string): Map<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new UserError(`${where} is not a vocabulary (token → id object): fix or re-download it`);
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(v)) {
    if (!Number.isInteger(id) || id < 0) {
      throw new UserError(`${where} gives token ${shown(token)} the id ${shown(id)}: ids are whole numbers ≥ 0`);
    }
    vocab.set(token, id as number);
  }
  return vocab;
}

/** merges.txt as tokenizers reads it: one 'a b' a line, '#version' lines skipped, rank = order. */
function readMerges(path: string, vocab: ReadonlyMap<string, number>): Map<string, number> {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return mergeRanks(lines.filter((l) => !l.startsWith('#version')), path, vocab);
}

/** Ranks of merges given as 'a b' strings or [a, b] pairs; each must join two tokens into one of the vocabulary. */
function mergeRanks(
  merges: readonly unknown[] | undefined,
  where: string,
  vocab: ReadonlyMap<string, number>,
): Map<string, number> {
  if (!merges) throw new UserError(`${where} is not a list of merges: fix or re-download it`);
  const ranks = new Map<string, number>();
  for (const [rank, m] of merges.entries()) {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((s) => typeof s === 'string' && s)) {
      throw new UserError(`${where}: merge ${rank + 1} (${shown(m)}) is not two tokens 'a b': fix or re-download it`);
    }
    const [a, b] = pair as [string, string];
    const missing = [a, b, a + b].find((t) => !vocab.has(t));
    if (missing !== undefined) {
      throw new UserError(`${where}: merge ${rank + 1} ('${a} ${b}') needs ${shown(missing)}, which is not in the vocabulary`);
    }
    ranks.set(`${a} ${b}`, rank); // a repeated merge takes its last rank, as tokenizers' merge map does
  }
  return ranks;
}
