/**
 * @module The sensitive-word matcher: an Aho–Corasick automaton over folded code points, so one
 * pass over a message finds every listed word, however long the list (cost grows with the text,
 * not the number of words; `npm run bench:moderation` measures it with 10,000 words).
 *
 * Matching is by substring, as sensitive-word filters for Chinese text must be (no spaces
 * between words); a list entry is matched case-insensitively and width-insensitively: each code
 * point is folded with NFKC then lower case (`Ｂａｄ` and `BAD` match `bad`). Positions map back to
 * the original code points, so a match is starred character for character (`傻瓜` -> `**`).
 */

export interface WordMatcher {
  /** Listed words (after folding and removing duplicates and empty entries). */
  readonly size: number;
  /** Whether `text` contains a listed word. */
  test(text: string): boolean;
  /** `text` with each code point of every match replaced by `*`; the same string if none. */
  censor(text: string): string;
}

const FORMAT = /^\p{Cf}$/u;
/** `fold` results below: a symbol, or one of these. */
const SKIP = -1;
const MANY = -2;
/** Folds of BMP code points, computed once: 0 unknown, symbol + 1, SKIP or MANY. */
const FOLDED_BMP = new Int32Array(0x10000);
const FOLDED_OTHER = new Map<number, number>();
const FOLDED_MANY = new Map<number, readonly number[]>();

/**
 * The symbol one code point stands for (ASCII by arithmetic, the rest NFKC then lower case), or
 * SKIP, or MANY when it folds to several (`FOLDED_MANY` has them). One number, so the hot loop
 * stays monomorphic.
 */
function fold(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  const known = cp < 0x10000 ? FOLDED_BMP[cp]! : (FOLDED_OTHER.get(cp) ?? 0);
  if (known !== 0) return known > 0 ? known - 1 : known;
  const ch = String.fromCodePoint(cp);
  // Invisible format characters (zero-width space, joiners, soft hyphen) are skipped, so they
  // cannot split a word; they are starred with it when they sit inside a match.
  const folded = FORMAT.test(ch)
    ? []
    : Array.from(ch.normalize('NFKC').toLowerCase(), (c) => c.codePointAt(0)!);
  let result: number;
  if (folded.length === 0) result = SKIP;
  else if (folded.length === 1) result = folded[0]!;
  else {
    result = MANY;
    FOLDED_MANY.set(cp, folded);
  }
  if (cp < 0x10000) FOLDED_BMP[cp] = result >= 0 ? result + 1 : result;
  else if (FOLDED_OTHER.size < 65_536) FOLDED_OTHER.set(cp, result >= 0 ? result + 1 : result);
  return result;
}

function foldWord(word: string): number[] {
  const symbols: number[] = [];
  for (const ch of word.trim()) {
    const cp = ch.codePointAt(0)!;
    const f = fold(cp);
    if (f >= 0) symbols.push(f);
    else if (f === MANY) symbols.push(...FOLDED_MANY.get(cp)!);
  }
  return symbols;
}

export function createWordMatcher(words: Iterable<string>): WordMatcher {
  /** Edges per state, by symbol; states without children (most of them) have none. */
  const edges: Array<Map<number, number> | undefined> = [undefined];
  /** Per state: the length (in symbols) of the longest word that ends there, via fail links. */
  const out: number[] = [0];
  let states = 1;
  let longest = 0;
  let size = 0;
  for (const word of words) {
    const symbols = foldWord(word);
    if (symbols.length === 0) continue;
    let state = 0;
    for (const s of symbols) {
      let children = edges[state];
      if (!children) {
        children = new Map();
        edges[state] = children;
      }
      let next = children.get(s);
      if (next === undefined) {
        next = states++;
        children.set(s, next);
        edges.push(undefined);
        out.push(0);
      }
      state = next;
    }
    if (out[state] === 0) size += 1;
    out[state] = symbols.length;
    longest = Math.max(longest, symbols.length);
  }

  // Fail links, breadth first.
  const fail = new Int32Array(states);
  const queue: number[] = [0];
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    for (const [symbol, child] of edges[state] ?? []) {
      if (state !== 0) {
        let f = fail[state]!;
        while (f !== 0 && !edges[f]?.has(symbol)) f = fail[f]!;
        fail[child] = edges[f]?.get(symbol) ?? 0;
      }
      out[child] = Math.max(out[child]!, out[fail[child]!]!);
      queue.push(child);
    }
  }

  // The root's edges for BMP symbols as a table: most steps in ordinary text start there.
  const root = new Int32Array(0x10000);
  for (const [symbol, child] of edges[0] ?? []) if (symbol < 0x10000) root[symbol] = child;
  const out32 = Int32Array.from(out);

  const step = (state: number, symbol: number): number => {
    let s = state;
    for (;;) {
      if (s === 0) return symbol < 0x10000 ? root[symbol]! : (edges[0]?.get(symbol) ?? 0);
      const next = edges[s]?.get(symbol);
      if (next !== undefined) return next;
      s = fail[s]!;
    }
  };

  /**
   * Calls `found(first, last)` with the code point indices of each match, in order of its end;
   * stops when it returns false. A ring of the last `longest` symbols' code point indices maps a
   * match back to the text. Returns whether anything matched.
   */
  const scan = (text: string, found?: (first: number, last: number) => boolean): boolean => {
    if (size === 0) return false;
    const origin = new Int32Array(longest);
    let state = 0;
    let fed = 0;
    let matched = false;
    for (let i = 0, index = 0; i < text.length; index += 1) {
      const cp = text.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      const folded = fold(cp);
      if (folded === SKIP) continue;
      const many = folded === MANY ? FOLDED_MANY.get(cp)! : undefined;
      for (let k = 0; k < (many ? many.length : 1); k += 1) {
        state = step(state, many ? many[k]! : folded);
        origin[fed % longest] = index;
        fed += 1;
        const length = out32[state]!;
        if (length === 0) continue;
        matched = true;
        if (!found?.(origin[(fed - length) % longest]!, index)) return true;
      }
    }
    return matched;
  };

  return {
    size,
    test: (text) => scan(text),
    censor(text) {
      // Merged spans of code point indices; a match ends at or after every earlier one.
      const spans: Array<[number, number]> = [];
      scan(text, (first, last) => {
        let from = first;
        while (spans.length > 0 && from <= spans[spans.length - 1]![1] + 1)
          from = Math.min(from, spans.pop()![0]);
        spans.push([from, last]);
        return true;
      });
      if (spans.length === 0) return text;
      let result = '';
      let index = 0;
      let span = 0;
      for (const ch of text) {
        while (span < spans.length && spans[span]![1] < index) span += 1;
        const current = spans[span];
        result += current && current[0] <= index ? '*' : ch;
        index += 1;
      }
      return result;
    },
  };
}
