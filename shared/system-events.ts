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
  steps?: readonly MemberStep[],
): SystemEvent[] {
  return placedSystemEvents(doc, parsed, writes, actor, steps).map((p) => p.event);
}

/** One value a member entry took in an update, with the struct that wrote it. */
export interface MemberStep {
  key: string;
  value: unknown;
  previous: unknown;
  id?: { client: number; clock: number };
}

/** Where in the writer's batch an event happened, so the log can order it among its messages. */
export interface EventPlace {
  client: number;
  clock: number;
  /** The writer's time of the change (join or exit time), when the value carries one. */
  time?: number;
}

/**
 * The events of a change, each with its place in the batch when known. With `steps` (every
 * value the members took, in order, as the filter resolves them), an offline sequence such as
 * "remove carol, invite carol again" reports both steps, not only the net change.
 */
export function placedSystemEvents(
  doc: Y.Doc,
  parsed: ParsedDoc,
  writes: ReadonlyMap<RootName, ReadonlyMap<string, unknown>>,
  actor: IdentityId,
  steps?: readonly MemberStep[],
): Array<{ event: SystemEvent; at?: EventPlace }> {
  if (parsed.type !== ConversationType.Group) return [];
  const events: Array<{ event: SystemEvent; at?: EventPlace }> = [];
  const meta = writes.get('meta');
  const genesis = meta?.has('key') === true && !doc.getMap('meta').has('key');
  if (genesis) {
    const members = [...(writes.get('members')?.keys() ?? [])].sort() as IdentityId[];
    const name = String(meta?.get('name') ?? '');
    // Later steps of the same batch (the creator removing someone) are reported after it.
    events.push({ event: { event: 'created', actor, name, members } });
  }
  const members = doc.getMap('members') as Y.Map<Member>;
  const memberSteps: readonly MemberStep[] =
    steps ??
    [...(writes.get('members') ?? [])].map(([key, value]) => ({
      key,
      value,
      previous: members.get(key),
    }));
  for (const step of memberSteps) {
    const next = step.value as Member | undefined;
    // The initial members are part of the creation; later steps of the same batch are not.
    if (!next || (genesis && step.previous === undefined)) continue;
    const time = next.status === MemberStatus.Exited ? next.exitTime : next.joinTime;
    for (const event of memberEvents(step.previous as Member | undefined, next, step.key, actor))
      events.push({
        event,
        ...(step.id
          ? {
              at: {
                ...step.id,
                ...(event.event === 'joined' ||
                event.event === 'exited' ||
                event.event === 'removed'
                  ? { time }
                  : {}),
              },
            }
          : {}),
      });
  }
  if (genesis) return events;
  const settings = writes.get('settings');
  if (settings?.has('muteAll') && settings.get('muteAll') !== doc.getMap('settings').get('muteAll'))
    events.push({ event: { event: 'muteAll', actor, on: settings.get('muteAll') === true } });
  if (meta) {
    const current = doc.getMap('meta');
    const info: { name?: string; avatar?: string } = {};
    if (meta.has('name') && meta.get('name') !== current.get('name'))
      info.name = String(meta.get('name'));
    if (meta.has('avatar') && meta.get('avatar') !== current.get('avatar'))
      info.avatar = String(meta.get('avatar') ?? '');
    if (info.name !== undefined || info.avatar !== undefined)
      events.push({ event: { event: 'info', actor, ...info } });
    const announcement = meta.get('announcement') as Announcement | undefined;
    const previous = current.get('announcement') as Announcement | undefined;
    if (meta.has('announcement') && announcement && announcement.text !== previous?.text)
      events.push({ event: { event: 'announcement', actor, text: announcement.text } });
    if (meta.get('status') === ConversationStatus.Dissolved)
      events.push({ event: { event: 'dissolved', actor } });
  }
  return events;
}

/** What one change of a member entry reports. */
function memberEvents(
  before: Member | undefined,
  next: Member,
  identity: string,
  actor: IdentityId,
): SystemEvent[] {
  const target = identity as IdentityId;
  const wasActive = before?.status === MemberStatus.Active;
  if (next.status === MemberStatus.Active && !wasActive)
    return [{ event: 'joined', actor, target }];
  if (next.status === MemberStatus.Exited && !before) {
    // An exited entry for someone who never was a member: the net effect of an invite and a
    // removal (an offline batch whose client collected the value in between; the rules check
    // the writer may do both). Reported as both, so it is never a silent record.
    return [
      { event: 'joined', actor, target },
      { event: 'removed', actor, target },
    ];
  }
  if (next.status === MemberStatus.Exited && wasActive)
    return [target === actor ? { event: 'exited', actor } : { event: 'removed', actor, target }];
  if (!before || !wasActive) return [];
  const events: SystemEvent[] = [];
  if (before.role !== next.role) {
    // A transfer writes the new owner and the old one stepping down: one event says both.
    if (next.role === MemberRole.Owner) events.push({ event: 'owner', actor, target });
    else if (before.role !== MemberRole.Owner)
      events.push({ event: 'role', actor, target, role: next.role });
  }
  if (before.mutedUntil !== next.mutedUntil)
    events.push({ event: 'muted', actor, target, until: next.mutedUntil ?? null });
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
