/**
 * @module The system messages a change reports (SPEC.md: joins, exits, removals, role changes,
 * announcements): computed from the writes of an accepted update against the document before
 * it, so both writers (a socket's update, a REST submission) report the same way. The server
 * writes them into the log as messages with a `system` field, stamped like any other message, so
 * every member (and every later reader of the history) sees what happened and in which order.
 */
import type * as Y from 'yjs';
import { ConversationStatus, ConversationType, MemberRole, MemberStatus } from './enums.js';
import type { IdentityId } from './ids.js';
import type { ParsedDoc } from './keys.js';
import type { Announcement, Member, RootName, SystemEvent } from './schema.js';

export function systemEvents(
  doc: Y.Doc,
  parsed: ParsedDoc,
  writes: ReadonlyMap<RootName, ReadonlyMap<string, unknown>>,
  actor: IdentityId,
): SystemEvent[] {
  if (parsed.type !== ConversationType.Group) return [];
  const events: SystemEvent[] = [];
  const meta = writes.get('meta');
  const genesis = meta?.has('key') === true && !doc.getMap('meta').has('key');
  if (genesis) {
    const members = [...(writes.get('members')?.keys() ?? [])].sort() as IdentityId[];
    events.push({ event: 'created', actor, name: String(meta?.get('name') ?? ''), members });
    return events; // the initial members are part of the creation
  }
  const members = doc.getMap('members') as Y.Map<Member>;
  for (const [identity, value] of writes.get('members') ?? []) {
    const next = value as Member | undefined;
    if (!next) continue;
    const target = identity as IdentityId;
    const before = members.get(identity);
    const wasActive = before?.status === MemberStatus.Active;
    if (next.status === MemberStatus.Active && !wasActive) {
      events.push({ event: 'joined', actor, target });
      continue;
    }
    if (next.status === MemberStatus.Exited && !before) {
      // An exited entry for someone who never was a member: the net effect of an invite and a
      // removal (an offline batch whose client collected the value in between; the rules check
      // the writer may do both). Reported as both, so it is never a silent record.
      events.push({ event: 'joined', actor, target }, { event: 'removed', actor, target });
      continue;
    }
    if (next.status === MemberStatus.Exited && wasActive) {
      events.push(
        target === actor ? { event: 'exited', actor } : { event: 'removed', actor, target },
      );
      continue;
    }
    if (!before || !wasActive) continue;
    if (before.role !== next.role) {
      // A transfer writes the new owner and the old one stepping down: one event says both.
      if (next.role === MemberRole.Owner) events.push({ event: 'owner', actor, target });
      else if (before.role !== MemberRole.Owner)
        events.push({ event: 'role', actor, target, role: next.role });
    }
    if (before.mutedUntil !== next.mutedUntil)
      events.push({ event: 'muted', actor, target, until: next.mutedUntil ?? null });
  }
  const settings = writes.get('settings');
  if (settings?.has('muteAll') && settings.get('muteAll') !== doc.getMap('settings').get('muteAll'))
    events.push({ event: 'muteAll', actor, on: settings.get('muteAll') === true });
  if (meta) {
    const current = doc.getMap('meta');
    const info: { name?: string; avatar?: string } = {};
    if (meta.has('name') && meta.get('name') !== current.get('name'))
      info.name = String(meta.get('name'));
    if (meta.has('avatar') && meta.get('avatar') !== current.get('avatar'))
      info.avatar = String(meta.get('avatar') ?? '');
    if (info.name !== undefined || info.avatar !== undefined)
      events.push({ event: 'info', actor, ...info });
    const announcement = meta.get('announcement') as Announcement | undefined;
    const previous = current.get('announcement') as Announcement | undefined;
    if (meta.has('announcement') && announcement && announcement.text !== previous?.text)
      events.push({ event: 'announcement', actor, text: announcement.text });
    if (meta.get('status') === ConversationStatus.Dissolved)
      events.push({ event: 'dissolved', actor });
  }
  return events;
}

/** A plain-English line for a system event: the message content old clients and tables show. */
export function describeSystemEvent(event: SystemEvent): string {
  switch (event.event) {
    case 'created':
      return `${event.actor} created the group "${event.name}"`;
    case 'joined':
      return `${event.actor} invited ${event.target}`;
    case 'exited':
      return `${event.actor} left the group`;
    case 'removed':
      return `${event.actor} removed ${event.target}`;
    case 'role':
      return `${event.actor} made ${event.target} ${event.role === MemberRole.Admin ? 'an admin' : 'a member'}`;
    case 'owner':
      return `${event.actor} transferred ownership to ${event.target}`;
    case 'muted':
      return event.until === null
        ? `${event.actor} unmuted ${event.target}`
        : `${event.actor} muted ${event.target}`;
    case 'muteAll':
      return event.on
        ? `${event.actor} muted everyone but owner and admins`
        : `${event.actor} unmuted everyone`;
    case 'info':
      return event.name !== undefined
        ? `${event.actor} renamed the group to "${event.name}"`
        : `${event.actor} changed the group avatar`;
    case 'announcement':
      return `${event.actor} posted an announcement: ${event.text}`.slice(0, 5000);
    case 'dissolved':
      return `${event.actor} dissolved the group`;
  }
}
