/** @module One line about a message or a list entry, in the UI's language. */
import type { InboxItem } from '../../client/inbox.js';
import { MessageFormat, type MessageView } from '../../client/index.js';
import type { SystemEvent } from '../../shared/schema.js';
import { formatTime, t } from './i18n.js';

const LABELS: Record<number, () => string> = {
  [MessageFormat.Image]: () => `[${t('image')}]`,
  [MessageFormat.File]: () => `[${t('file')}]`,
  [MessageFormat.Voice]: () => t('voice'),
  [MessageFormat.Video]: () => t('video'),
  [MessageFormat.Card]: () => t('card'),
};

export function previewText(item: InboxItem): string {
  const p = item.preview;
  if (!p) return '';
  if (p.recalled) return t('recalledBy', { name: p.sender });
  if (p.system) return p.text;
  return `${p.sender}: ${p.text || LABELS[p.format]?.() || ''}`;
}

export function messageSummary(m: MessageView): string {
  if (m.recalled) return t('recalledBy', { name: m.sender });
  if (m.system) return systemText(m.system, '');
  return m.content || LABELS[m.format]?.() || '';
}

/** A system line (join, removal, role, …) in the UI's language; `me` reads as "you". */
export function systemText(event: SystemEvent, me: string): string {
  // "You" as the subject, "you" elsewhere.
  const who = (id: string) => (id === me ? t('you') : id);
  const whom = (id: string) => (id === me ? t('youObject') : id);
  switch (event.event) {
    case 'created':
      return t('sysCreated', { actor: who(event.actor), name: event.name });
    case 'joined':
      return event.actor === event.target
        ? t('sysJoinedSelf', { target: whom(event.target) })
        : t('sysJoined', { actor: who(event.actor), target: whom(event.target) });
    case 'exited':
      return t('sysExited', { actor: who(event.actor) });
    case 'removed':
      return event.target === me
        ? t('sysRemovedYou', { actor: who(event.actor) })
        : t('sysRemoved', { actor: who(event.actor), target: whom(event.target) });
    case 'role':
      return t(event.role === 2 ? 'sysRoleAdmin' : 'sysRoleMember', {
        actor: who(event.actor),
        target: whom(event.target),
      });
    case 'owner':
      return t('sysOwner', { actor: who(event.actor), target: whom(event.target) });
    case 'muted':
      return event.until === null || event.until <= Date.now()
        ? t('sysUnmuted', { actor: who(event.actor), target: whom(event.target) })
        : t('sysMuted', {
            actor: who(event.actor),
            target: whom(event.target),
            time: formatTime(event.until),
          });
    case 'muteAll':
      return t(event.on ? 'sysMuteAllOn' : 'sysMuteAllOff', { actor: who(event.actor) });
    case 'info':
      return event.name !== undefined
        ? t('sysRenamed', { actor: who(event.actor), name: event.name })
        : t('sysAvatar', { actor: who(event.actor) });
    case 'announcement':
      return t('sysAnnouncement', { actor: who(event.actor), text: event.text });
    case 'dissolved':
      return t('sysDissolved', { actor: who(event.actor) });
  }
}
