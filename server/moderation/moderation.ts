/**
 * @module Moderation of new messages, one piece for the sync path and REST (the room calls it
 * from `applyFrom` and `submit` alike): the sensitive-word filter over `content` (text and
 * captions) and `card.title`, and the rate limits.
 *
 * `admit` runs before anything is applied: in reject mode a listed word refuses the whole update
 * (SENSITIVE_CONTENT, naming the message's struct so the SDK drops that intent), and a batch
 * over the rate limits is refused (RATE_LIMITED) without charging either bucket. `censor` runs
 * in replace mode inside the server transaction that stamps the messages, and overwrites each
 * new message that has a listed word with its starred copy.
 */
import fs from 'node:fs/promises';
import type * as Y from 'yjs';
import { PlatformRole } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import type { MessageKey } from '../../shared/ids.js';
import { rateLimited } from '../../shared/retry.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { Metrics } from '../metrics.js';
import type { Plan, Rejection } from '../sync/filter.js';
import { type ModerationConfig, type ModerationMode, splitWords } from './config.js';
import { type Admission, RateLimiter } from './rate-limit.js';
import type { RateLimit } from './rate-limit-seam.js';
import { createWordMatcher, type WordMatcher } from './words.js';

/** What the room needs of an accepted plan: its final writes and where new messages were written. */
export type ModeratedPlan = Pick<Plan, 'writes'> & { created?: Plan['created'] };

export interface Moderation {
  readonly mode: ModerationMode;
  /**
   * Whether `text` has a listed word, in either mode: the rules refuse names people choose
   * (nicknames, group names, announcements, file names) with one rather than star them.
   */
  readonly sensitive: (text: string) => boolean;
  /** Refuses the plan (a listed word in reject mode; its messages or writes over the rate limits). */
  admit(
    author: Identity,
    /** The document's name (a conversation key): the per-conversation bucket. */
    conversation: string,
    doc: Y.Doc,
    plan: ModeratedPlan,
  ): Rejection | undefined | Promise<Rejection | undefined>;
  /**
   * Replace mode: overwrites each of `keys` that has a listed word with its starred copy. Call
   * inside the server transaction; returns how many it overwrote.
   */
  censor(doc: Y.Doc, keys: readonly MessageKey[]): number;
}

export async function createModeration(
  config: ModerationConfig,
  deps: {
    now: () => number;
    metrics?: Metrics;
    /**
     * Where the buckets are when not in this process (cluster mode: the identity's in Redis,
     * ../cluster/rate-limit.ts); `admit` then answers asynchronously when it charges them.
     */
    rateLimit?: RateLimit;
  },
): Promise<Moderation> {
  const words = [...config.words];
  if (config.wordsFile) {
    const text = await fs.readFile(config.wordsFile, 'utf8');
    words.push(...splitWords(text, /\r?\n/).filter((w) => !w.startsWith('#')));
  }
  const matcher = createWordMatcher(words);
  const limiter = new RateLimiter(config.rates, deps.now);
  const count = (action: 'censored' | 'refused' | 'limited', n = 1) =>
    deps.metrics?.moderation.inc({ action }, n);

  return {
    mode: config.mode,
    sensitive: (text) => matcher.size > 0 && matcher.test(text),
    admit(author, conversation, doc, plan) {
      const fresh = newMessages(doc, plan);
      let written = 0;
      for (const keys of plan.writes.values()) written += keys.size;
      // Every key written that is not a new message: read marks, profiles, members, recalls.
      const otherWrites = written - fresh.length;
      if (fresh.length === 0 && otherWrites === 0) return undefined;
      const where = new Map<string, { clientId: number; clock: number }>();
      for (const c of plan.created ?? []) if (!where.has(c.key)) where.set(c.key, c);
      const at = (key: string) => {
        const found = where.get(key);
        return { clientId: found?.clientId ?? 0, clock: found?.clock ?? 0 };
      };
      if (config.mode === 'reject' && matcher.size > 0) {
        const bad = fresh.find(([, message]) => hasWord(message, matcher));
        if (bad) {
          count('refused');
          return {
            error: new ConvosyncError(
              'SENSITIVE_CONTENT',
              `message ${bad[0]} contains a word that is not allowed`,
            ),
            ...at(bad[0]),
          };
        }
      }
      // Backend jobs (role service) post notices to many conversations on purpose.
      if (author.role === PlatformRole.Service) return undefined;
      const judge = (admission: Admission): Rejection | undefined => {
        if (admission.ok) return undefined;
        count('limited');
        return {
          error: rateLimited(admission.retryInMs, admission.scope),
          ...(fresh[0] ? at(fresh[0][0]) : { clientId: 0, clock: 0 }),
        };
      };
      if (deps.rateLimit)
        return deps.rateLimit.take(author.id, conversation, fresh.length, otherWrites).then(judge);
      return judge(limiter.take(author.id, conversation, fresh.length, otherWrites));
    },
    censor(doc, keys) {
      if (config.mode !== 'replace' || matcher.size === 0) return 0;
      const { messages } = conversationRoots(doc);
      let censored = 0;
      for (const key of keys) {
        const message = messages.get(key);
        const clean = message && censorMessage(message, matcher);
        if (!clean) continue;
        messages.set(key, clean);
        censored += 1;
      }
      if (censored > 0) count('censored', censored);
      return censored;
    },
  };
}

/** New messages of the plan (keys the document does not hold yet), in written order. */
function newMessages(doc: Y.Doc, plan: ModeratedPlan): Array<[string, Message]> {
  const { messages } = conversationRoots(doc);
  const fresh: Array<[string, Message]> = [];
  for (const [key, value] of plan.writes.get('messages') ?? []) {
    if (value !== undefined && !messages.has(key)) fresh.push([key, value as Message]);
  }
  return fresh;
}

function hasWord(message: Message, matcher: WordMatcher): boolean {
  return (
    matcher.test(message.content) ||
    (message.card?.title !== undefined && matcher.test(message.card.title))
  );
}

/** The starred copy of `message`, or undefined when it has no listed word. */
export function censorMessage(message: Message, matcher: WordMatcher): Message | undefined {
  const content = matcher.censor(message.content);
  const title = message.card?.title === undefined ? undefined : matcher.censor(message.card.title);
  if (content === message.content && title === message.card?.title) return undefined;
  return {
    ...message,
    content,
    ...(message.card && title !== undefined ? { card: { ...message.card, title } } : {}),
  };
}
