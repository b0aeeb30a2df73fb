/**
 * @module `npm run bench:moderation`: the sensitive-word matcher with a large list. Builds the
 * automaton from 10,000 words (half Latin, half Chinese, so prefixes are shared), then times
 * `test` and `censor` over 20,000 chat-length messages (one in ten contains a listed word).
 * Reported: build time, heap held by the matcher, microseconds per message, and for scale the
 * cost of testing each word in turn with `includes`.
 * `-- --words 50000 --length 500` to vary.
 */
import { parseArgs } from 'node:util';
import { createWordMatcher } from '../server/moderation/words.js';

const { values } = parseArgs({
  options: {
    words: { type: 'string', default: '10000' },
    messages: { type: 'string', default: '20000' },
    length: { type: 'string', default: '120' },
  },
});
const wordCount = Number(values.words);
const messageCount = Number(values.messages);
const length = Number(values.length);

// A fixed seed (mulberry32), so every run judges the same list and messages.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};
const pick = (alphabet: string, n: number) =>
  Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
const latin = 'abcdefghijklmnopqrstuvwxyz';
const han = Array.from({ length: 3000 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');

const words = Array.from({ length: wordCount }, (_, i) =>
  i % 2 === 0 ? pick(latin, 5 + Math.floor(random() * 6)) : pick(han, 2 + Math.floor(random() * 3)),
);
const messages = Array.from({ length: messageCount }, (_, i) => {
  const filler = i % 3 === 0 ? pick(han, length / 2) : pick(`${latin}     `, length);
  if (i % 10 !== 0) return filler;
  const at = Math.floor(random() * filler.length);
  return (
    filler.slice(0, at) +
    words[Math.floor(random() * words.length)]!.toUpperCase() +
    filler.slice(at)
  );
});

global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let started = process.hrtime.bigint();
const matcher = createWordMatcher(words);
const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
global.gc?.();
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

/** Microseconds per message of `f` over every message, after a warm-up. */
const time = (f: (text: string) => unknown): number => {
  for (const m of messages.slice(0, 2000)) f(m);
  started = process.hrtime.bigint();
  for (const m of messages) f(m);
  return Number(process.hrtime.bigint() - started) / 1e3 / messages.length;
};
const testUs = time((m) => matcher.test(m));
const censorUs = time((m) => matcher.censor(m));
const hits = messages.filter((m) => matcher.test(m)).length;
// For scale: what checking each word in turn would cost (on a tenth of the messages).
const folded = words.map((w) => w.toLowerCase());
const naiveStarted = process.hrtime.bigint();
const sample = messages.slice(0, Math.ceil(messages.length / 10));
for (const m of sample) {
  const lower = m.toLowerCase();
  folded.some((w) => lower.includes(w));
}
const naiveUs = Number(process.hrtime.bigint() - naiveStarted) / 1e3 / sample.length;

console.log(
  JSON.stringify(
    {
      words: matcher.size,
      messages: messageCount,
      messageLength: length,
      buildMs: Math.round(buildMs),
      matcherHeapMb: global.gc ? Math.round(heapMb * 10) / 10 : 'run with --expose-gc',
      testMicrosPerMessage: Math.round(testUs * 100) / 100,
      censorMicrosPerMessage: Math.round(censorUs * 100) / 100,
      messagesWithAWord: hits,
      naiveIncludesMicrosPerMessage: Math.round(naiveUs),
    },
    null,
    2,
  ),
);
