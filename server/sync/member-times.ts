/**
 * @module Join and exit times come from the server's clock (issue 12 item 5). A client writes
 * `joinTime` and `exitTime` when it invites, removes or leaves, but the history a newcomer may
 * see (`enableMessageHistory` off) starts at its `joinTime`, so an inviter who chose 0 would show
 * it everything. The server overwrites both, in the transaction that stamps the change, for
 * every member the change lets in or out: the events the change reports name exactly those.
 */
import type * as Y from 'yjs';
import { MemberStatus } from '../../shared/enums.js';
import { conversationRoots, type Member, type SystemEvent } from '../../shared/schema.js';

/** Overwrites the times of the members `events` report joining or leaving with `now`. */
export function stampMemberTimes(doc: Y.Doc, events: readonly SystemEvent[], now: number): void {
  const { members } = conversationRoots(doc);
  const set = (identity: string, field: 'joinTime' | 'exitTime') => {
    const member = members.get(identity);
    // An offline batch may report several steps of one member (removed, then invited again):
    // an active member carries no exit time.
    const carries = field === 'joinTime' || member?.status === MemberStatus.Exited;
    if (member && carries && member[field] !== now)
      members.set(identity, { ...member, [field]: now });
  };
  for (const event of events) {
    switch (event.event) {
      case 'created':
        // A genesis lets in its creator and everyone it invites.
        for (const [identity, member] of members.entries())
          if ((member as Member).joinTime !== now) set(identity, 'joinTime');
        break;
      case 'joined':
        set(event.target, 'joinTime');
        break;
      case 'exited':
        set(event.actor, 'exitTime');
        break;
      case 'removed':
        set(event.target, 'exitTime');
        break;
    }
  }
}
