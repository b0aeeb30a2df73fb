/**
 * @module The one entry point of the rules: judges the writes of one update, in order, each
 * against the value its key had just before it, then what the update leaves as a whole (member
 * limit, one owner, a complete genesis). The server's filter calls it with the chain of values
 * each key of an incoming update takes; the SDK calls it with what an intent is about to write.
 */
import { hasGenesis } from '../conversation.js';
import { ConversationStatus, ConversationType } from '../enums.js';
import type { RootName } from '../schema.js';
import { type RuleContext, type RuleViolation, violation } from './context.js';
import { checkPrefsWrite } from './inbox.js';
import {
  checkGenesisComplete,
  checkMetaWrite,
  checkSettingsWrite,
  isGroupGenesis,
} from './info.js';
import { checkMemberResult, checkMemberWrite } from './membership.js';
import { checkMessageWrite } from './message.js';
import { checkProfileWrite, checkReadWrite } from './read.js';
import { unstorableText } from './storable.js';

/** One write as the rules see it: the key's value before and after. */
export interface JudgedWrite {
  root: RootName;
  key: string;
  value: unknown;
  previous: unknown;
}

export interface RejectedWrite<W extends JudgedWrite = JudgedWrite> {
  error: RuleViolation;
  /** The write that broke a rule; the first write of its root for whole-update rules. */
  write: W;
}

// Genesis and membership first: later roots are judged with the roles they establish.
const ORDER: readonly RootName[] = [
  'meta',
  'members',
  'settings',
  'profiles',
  'reads',
  'delivered',
  'messages',
  'stamps',
  'clients',
  'cards',
  'entries',
  'prefs',
];

const RANK = new Map<RootName, number>(ORDER.map((root, i) => [root, i]));

/**
 * The first write the rules refuse, or undefined if all pass. Without `sequence`, each final
 * value in `ctx.writes` is judged against the document's current value.
 */
export function checkWrites<W extends JudgedWrite>(
  ctx: RuleContext,
  sequence?: readonly W[],
): RejectedWrite<W> | undefined {
  const writes = (sequence ?? derive(ctx)) as readonly W[];
  if (writes.length === 0) return undefined;
  const genesis = isGroupGenesis(ctx);
  if (
    ctx.parsed.type === ConversationType.Group &&
    !hasGenesis(ctx.doc) &&
    !genesis &&
    !ctx.doc.getMap('meta').has('key')
  ) {
    return {
      error: violation(
        'SCHEMA_VIOLATION',
        'this group does not exist yet: only its genesis is accepted',
      ),
      write: writes[0]!,
    };
  }
  // One write (a message) needs no ordering; `sort` is stable, so writes of one root keep theirs.
  const ordered =
    writes.length === 1
      ? writes
      : [...writes].sort((a, b) => (RANK.get(a.root) ?? -1) - (RANK.get(b.root) ?? -1));
  for (const write of ordered) {
    // In a genesis batch only a key's first value is part of the creation; later values are the
    // creator's further intents (an offline "create, then remove bob"), judged as changes.
    const error = judge(ctx, write, genesis && write.previous === undefined);
    if (error) return { error, write };
  }
  if (genesis) {
    // The genesis is the first value of each key: the creator may hand the group over, or
    // remove a member, later in the same offline batch.
    const first = new Map<RootName, Map<string, unknown>>();
    for (const w of writes) {
      if (w.previous !== undefined) continue;
      const root = first.get(w.root) ?? new Map<string, unknown>();
      if (!root.has(w.key)) root.set(w.key, w.value);
      first.set(w.root, root);
    }
    const error = checkGenesisComplete({ ...ctx, writes: first });
    if (error) return { error, write: firstOf(ordered, 'meta') };
  }
  const members = ctx.writes.get('members');
  if (members && members.size > 0) {
    const error = checkMemberResult(ctx, members, genesis);
    if (error) return { error, write: firstOf(ordered, 'members') };
  }
  return undefined;
}

/** The first write of `root` (whole-update rules name it). */
function firstOf<W extends JudgedWrite>(ordered: readonly W[], root: RootName): W {
  return ordered.find((w) => w.root === root)!;
}

function judge(ctx: RuleContext, w: JudgedWrite, genesis: boolean): RuleViolation | undefined {
  const inboxRoot = w.root === 'entries' || w.root === 'prefs';
  if (inboxRoot !== (ctx.parsed.type === 'inbox') && w.root !== 'clients')
    return violation('SCHEMA_VIOLATION', `no root ${w.root} in this document`);
  // Judged by the document before the update: the write that dissolves passes, what follows not.
  if (
    ctx.parsed.type === ConversationType.Group &&
    ctx.doc.getMap('meta').get('status') === ConversationStatus.Dissolved &&
    w.root !== 'reads' &&
    w.root !== 'delivered'
  )
    return violation('CONVERSATION_DISSOLVED', 'a dissolved group only moves read marks');
  const text = unstorableText(w.value);
  if (text) return violation(w.root === 'messages' ? 'INVALID_MESSAGE' : 'SCHEMA_VIOLATION', text);
  switch (w.root) {
    case 'entries':
      return violation('SERVER_ONLY', 'inbox entries are written by the server only');
    case 'prefs':
      return checkPrefsWrite(ctx, w.key, w.value);
    case 'meta':
      return checkMetaWrite(ctx, w.key, w.value, genesis);
    case 'settings':
      return checkSettingsWrite(ctx, w.key, w.value, genesis);
    case 'members':
      return checkMemberWrite(ctx, w.key, w.value, w.previous, genesis);
    case 'profiles':
      return checkProfileWrite(ctx, w.key, w.value);
    case 'reads':
    case 'delivered':
      return checkReadWrite(ctx, w.key, w.value, w.previous);
    case 'messages':
      return checkMessageWrite(ctx, w.key, w.value, w.previous);
    case 'stamps':
    case 'clients':
    case 'cards':
      return violation('SERVER_ONLY', `${w.root} is written by the server only`);
  }
}

function derive(ctx: RuleContext): JudgedWrite[] {
  const out: JudgedWrite[] = [];
  for (const [root, writes] of ctx.writes) {
    for (const [key, value] of writes)
      out.push({ root, key, value, previous: ctx.doc.getMap(root).get(key) });
  }
  return out;
}
