/**
 * @module The group panel: members (role, mute) each with an actions menu for what this
 * identity's role allows (remove, admin or not, mute, make owner), invite (people lookup), and
 * for owner and admins the group's name, picture, announcement and "only admins post"; dissolve
 * (owner) or leave (others). Destructive actions ask first.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import {
  type Client,
  type Conversation,
  ConversationStatus,
  MemberRole,
  MemberStatus,
} from '../../client/index.js';
import { isServerFileUrl } from '../../shared/file-url.js';
import { asIdentityId } from '../../shared/ids.js';
import { conversationRoots } from '../../shared/schema.js';
import { uploadWithProgress } from './api.js';
import { formatTime, t } from './i18n.js';
import { confirmAction, guard, toast, useLanguage } from './state.js';
import { MenuButton, type MenuItem, PeoplePicker } from './ui.js';

const ROLE: Record<number, () => string> = {
  [MemberRole.Member]: () => t('roleMember'),
  [MemberRole.Admin]: () => t('roleAdmin'),
  [MemberRole.Owner]: () => t('roleOwner'),
};

export function GroupPanel(props: {
  conversation: Conversation;
  client: Client;
  token: string;
  now: number;
  /** The server refused this identity here (removed): its stale document must offer nothing. */
  refused: boolean;
  onClose: () => void;
}) {
  useLanguage();
  const { conversation, client, now } = props;
  const me = client.identity.id;
  const { members, settings, meta } = conversationRoots(conversation.doc);
  const mine = members.get(me);
  const myRole = mine?.status === MemberStatus.Active ? mine.role : undefined;
  const open =
    !props.refused &&
    (meta.get('status') === ConversationStatus.Normal || meta.get('status') === undefined);
  const manages = open && (myRole === MemberRole.Owner || myRole === MemberRole.Admin);
  const isOwner = open && myRole === MemberRole.Owner;
  const active = [...members.entries()]
    .filter(([, m]) => m.status === MemberStatus.Active)
    .sort(([a, ma], [b, mb]) => mb.role - ma.role || (a < b ? -1 : 1));
  const currentName = (meta.get('name') as string | undefined) ?? '';
  const currentAnnouncement =
    (meta.get('announcement') as { text?: string } | undefined)?.text ?? '';
  const [name, setName] = useState(currentName);
  const [announcement, setAnnouncement] = useState(currentAnnouncement);
  useEffect(() => setName(currentName), [currentName]);
  useEffect(() => setAnnouncement(currentAnnouncement), [currentAnnouncement]);
  const nameId = useId();
  const announcementId = useId();
  const avatarId = useId();
  const avatar = meta.get('avatar') as string | undefined;

  const memberItems = (id: string, role: number, mutedUntil: number | undefined): MenuItem[] => {
    if (!manages || id === me || myRole === undefined || role >= myRole) return [];
    const who = asIdentityId(id);
    const items: MenuItem[] = [];
    if (isOwner)
      items.push({
        label: role === MemberRole.Admin ? t('makeMember') : t('makeAdmin'),
        testid: 'member-role',
        onSelect: () =>
          guard(() =>
            conversation.setRole(
              who,
              role === MemberRole.Admin ? MemberRole.Member : MemberRole.Admin,
            ),
          ),
      });
    if (mutedUntil && mutedUntil > now)
      items.push({
        label: t('unmuteMember'),
        testid: 'member-unmute',
        onSelect: () => guard(() => conversation.mute(who, null)),
      });
    else {
      items.push({
        label: t('muteMember'),
        testid: 'member-mute',
        onSelect: () => guard(() => conversation.mute(who, Date.now() + 3_600_000)),
      });
      items.push({
        label: t('muteMemberDay'),
        testid: 'member-mute-day',
        onSelect: () => guard(() => conversation.mute(who, Date.now() + 86_400_000)),
      });
    }
    if (isOwner)
      items.push({
        label: t('transfer'),
        testid: 'member-transfer',
        onSelect: () =>
          guard(async () => {
            const ok = await confirmAction({
              title: t('transferTitle', { name: id }),
              body: t('transferBody'),
              confirm: t('transfer'),
              danger: true,
            });
            if (ok) await conversation.transferOwnership(who);
          }),
      });
    items.push({
      label: t('removeMember'),
      testid: 'member-remove',
      danger: true,
      onSelect: () =>
        guard(async () => {
          const ok = await confirmAction({
            title: t('removeTitle', { name: id }),
            confirm: t('removeMember'),
            danger: true,
          });
          if (ok) await conversation.remove(who);
        }),
    });
    return items;
  };

  return (
    <aside id="group-panel" class="panel" aria-label={t('groupInfo')} data-testid="group-panel">
      <div class="panel-head">
        <h3>{t('members', { count: active.length })}</h3>
        <button type="button" class="icon" aria-label={t('close')} onClick={props.onClose}>
          ×
        </button>
      </div>
      <ul class="members">
        {active.map(([id, m]) => {
          const items = memberItems(id, m.role, m.mutedUntil);
          return (
            <li key={id} data-testid="member" data-identity={id}>
              <span class="avatar" aria-hidden="true">
                {id.slice(0, 1).toUpperCase()}
              </span>
              <span class="member-name">
                {id === me ? `${id} (${t('you')})` : id}
                <span class="hint">
                  {' '}
                  {ROLE[m.role]?.()}
                  {m.mutedUntil && m.mutedUntil > now
                    ? ` · ${t('mutedUntil', { time: formatTime(m.mutedUntil) })}`
                    : ''}
                </span>
              </span>
              {items.length > 0 ? (
                <MenuButton
                  label={t('memberActions', { name: id })}
                  testid="member-menu"
                  items={items}
                >
                  ⋯
                </MenuButton>
              ) : null}
            </li>
          );
        })}
      </ul>
      {open && myRole !== undefined && settings.get('allowInvite') !== false ? (
        <PeoplePicker
          token={props.token}
          label={t('inviteLabel')}
          testid="group-invite-identity"
          submitLabel={t('invite')}
          exclude={active.map(([id]) => id)}
          onPick={(person) =>
            guard(() => conversation.invite(asIdentityId(person.identity), person.identityType))
          }
        />
      ) : null}
      {manages ? (
        <>
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim() && name.trim() !== currentName)
                guard(async () => {
                  await conversation.updateInfo({ name: name.trim() });
                  toast(t('saved'));
                });
            }}
          >
            <label for={nameId}>{t('renameLabel')}</label>
            <div class="row">
              <input
                id={nameId}
                data-testid="group-name"
                value={name}
                maxLength={100}
                onInput={(e) => setName((e.target as HTMLInputElement).value)}
              />
              <button type="submit" data-testid="group-rename">
                {t('rename')}
              </button>
            </div>
          </form>
          <div class="stack">
            <span id={avatarId}>{t('avatar')}</span>
            <div class="row">
              {/* Only one of our files: any other address (an admin may write one) would have
                  every member who opens this panel fetch it, a tracking pixel. */}
              {avatar && isServerFileUrl(avatar) ? (
                <img
                  class="group-avatar"
                  src={client.fileSrc({ url: avatar, size: 0, mime: 'image/png' })}
                  alt={t('avatar')}
                />
              ) : null}
              <label class="button">
                {t('avatarChange')}
                <input
                  type="file"
                  accept="image/png,image/jpeg,image/gif,image/webp"
                  class="sr-only"
                  data-testid="group-avatar"
                  aria-describedby={avatarId}
                  onChange={(e) => {
                    const target = e.target as HTMLInputElement;
                    const chosen = target.files?.[0];
                    target.value = '';
                    if (chosen)
                      guard(async () => {
                        const { ref } = await uploadWithProgress(
                          props.token,
                          conversation.key,
                          chosen,
                          () => undefined,
                        );
                        await conversation.updateInfo({ avatar: ref.url });
                      });
                  }}
                />
              </label>
            </div>
          </div>
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              guard(async () => {
                await conversation.updateInfo({ announcement });
                toast(t('saved'));
              });
            }}
          >
            <label for={announcementId}>{t('announcement')}</label>
            <textarea
              id={announcementId}
              data-testid="group-announcement"
              value={announcement}
              maxLength={2000}
              rows={2}
              onInput={(e) => setAnnouncement((e.target as HTMLTextAreaElement).value)}
            />
            <button type="submit" data-testid="group-announcement-submit">
              {t('announce')}
            </button>
          </form>
          <label class="check">
            <input
              type="checkbox"
              data-testid="group-mute-all"
              checked={settings.get('muteAll') === true}
              onChange={(e) =>
                guard(() => conversation.muteAll((e.target as HTMLInputElement).checked))
              }
            />
            {t('muteAll')}
          </label>
        </>
      ) : null}
      {open && myRole !== undefined ? (
        <div class="row danger-zone">
          {isOwner ? (
            <button
              type="button"
              class="danger"
              data-testid="group-dissolve"
              onClick={() =>
                guard(async () => {
                  const ok = await confirmAction({
                    title: t('dissolveTitle'),
                    body: t('dissolveBody'),
                    confirm: t('dissolve'),
                    danger: true,
                  });
                  if (ok) await conversation.dissolve();
                })
              }
            >
              {t('dissolve')}
            </button>
          ) : (
            <button
              type="button"
              class="danger"
              data-testid="group-exit"
              onClick={() =>
                guard(async () => {
                  const ok = await confirmAction({
                    title: t('leaveTitle'),
                    confirm: t('leave'),
                    danger: true,
                  });
                  if (ok) await conversation.exit();
                })
              }
            >
              {t('leave')}
            </button>
          )}
        </div>
      ) : null}
    </aside>
  );
}
