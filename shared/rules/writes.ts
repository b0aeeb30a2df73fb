/**
 * @module The one entry point of the rules: judges the final writes of one update, root by
 * root. The server's filter calls it with what an incoming update writes; the SDK calls it with
 * what an intent is about to write, before touching its document.
 */
import type { RootName } from '../schema.js';
import { type RuleContext, type RuleViolation, violation } from './context.js';
import { checkMetaWrites, checkSettingsWrites, isGroupGenesis } from './info.js';
import { checkMemberWrites } from './membership.js';
import { checkMessageWrite } from './message.js';
import { checkProfileWrite, checkReadWrite } from './read.js';

export interface RejectedWrite {
  error: RuleViolation;
  root: RootName;
  key: string;
}

/** The first write of `ctx.writes` the rules refuse, or undefined if all pass. */
export function checkWrites(ctx: RuleContext): RejectedWrite | undefined {
  const genesis = isGroupGenesis(ctx);
  // Genesis and membership first: later roots are judged with the roles they establish.
  const order: RootName[] = [
    'meta',
    'members',
    'settings',
    'profiles',
    'reads',
    'messages',
    'stamps',
    'clients',
  ];
  for (const root of order) {
    const writes = ctx.writes.get(root);
    if (!writes || writes.size === 0) continue;
    const rejected = checkRoot(ctx, root, writes, genesis);
    if (rejected) return rejected;
  }
  return undefined;
}

function checkRoot(
  ctx: RuleContext,
  root: RootName,
  writes: ReadonlyMap<string, unknown>,
  genesis: boolean,
): RejectedWrite | undefined {
  const first = writes.keys().next().value as string;
  const whole = (error: RuleViolation | undefined) =>
    error ? { error, root, key: first } : undefined;
  switch (root) {
    case 'meta':
      return whole(checkMetaWrites(ctx, writes, genesis));
    case 'settings':
      return whole(checkSettingsWrites(ctx, writes, genesis));
    case 'members':
      return whole(checkMemberWrites(ctx, writes, genesis));
    case 'stamps':
    case 'clients':
      return whole(violation('SERVER_ONLY', `${root} is written by the server only`));
    case 'reads':
    case 'profiles':
    case 'messages': {
      const check =
        root === 'reads'
          ? checkReadWrite
          : root === 'profiles'
            ? checkProfileWrite
            : checkMessageWrite;
      for (const [key, value] of writes) {
        const error = check(ctx, key, value);
        if (error) return { error, root, key };
      }
      return undefined;
    }
  }
}
