/**
 * @module The UI's words in English and Simplified Chinese. The language follows the browser
 * (`navigator.languages`: any zh → zh-CN) until the user picks one in the header; the pick is kept
 * in localStorage. Error codes get their sentence from shared/error-messages.ts.
 */
import { errorMessage, type Language } from '../../shared/error-messages.js';

const en = {
  appName: 'convosync',
  signInTitle: 'Sign in',
  signInIntro: 'Development sign-in: pick a user name.',
  signInName: 'User name',
  signInSubmit: 'Sign in',
  signInToken: 'Use a token instead',
  signInTokenLabel: 'Token (JWT)',
  devSignInOff: 'Development sign-in is off on this server (a JWT_SECRET is set): paste a token.',
  signedInAs: 'Signed in as {name}',
  online: 'Online',
  offline: 'Offline: changes are kept and sent later',
  signOut: 'Sign out',
  signOutTitle: 'Sign out?',
  signOutClear: 'Also delete the messages kept on this device',
  signOutClearHint: 'Unsent messages are lost if you delete them.',
  language: 'Language',
  notificationsOn: 'Turn on notifications',
  notificationsBlocked: 'Notifications are blocked in the browser settings.',
  chats: 'Chats',
  newChat: 'New chat',
  newGroup: 'New group',
  findPeople: 'Find people by name',
  noPeople: 'Nobody with that name has signed in yet.',
  peopleUnavailable: 'People search is not available on this server.',
  startChat: 'Start chat',
  groupName: 'Group name',
  groupMembers: 'Members',
  addMember: 'Add {name}',
  removeChip: 'Remove {name}',
  createGroup: 'Create group',
  groupNeedsName: 'Give the group a name.',
  groupNeedsMembers: 'Add at least one member.',
  cancel: 'Cancel',
  close: 'Close',
  confirm: 'Confirm',
  search: 'Search messages',
  searchButton: 'Search',
  noResults: 'No messages found.',
  searchResults: 'Search results',
  showArchived: 'Show archived chats',
  emptyList: 'No chats yet. Start one with “New chat”.',
  pickChat: 'Pick a chat, or start one.',
  unreadBadge: '{count} unread',
  mutedLabel: 'notifications muted',
  pinned: 'Pinned',
  dissolvedTag: 'dissolved',
  archivedTag: 'archived',
  draft: 'Draft: {text}',
  chatOptions: 'Options for {name}',
  pin: 'Pin',
  unpin: 'Unpin',
  mute: 'Mute notifications',
  unmute: 'Unmute notifications',
  archive: 'Archive',
  unarchive: 'Unarchive',
  deleteChat: 'Delete chat',
  deleteChatTitle: 'Delete this chat from your list?',
  deleteChatBody:
    'It disappears from your list on all your devices, and comes back when a new message arrives. The others keep it.',
  back: 'Back to chats',
  groupInfo: 'Group info',
  onlineNow: 'online: {names}',
  manyOnline: '{count} online',
  typingOne: '{names} is typing…',
  typingMany: '{names} are typing…',
  typingCount: '{count} people are typing…',
  messages: 'Messages',
  loadingOlder: 'Loading older messages…',
  newMessagesDivider: 'New messages',
  jumpToLatest: 'Jump to latest',
  jumpNew: '{count} new — jump to latest',
  today: 'Today',
  yesterday: 'Yesterday',
  messageActions: 'Actions for message from {name}',
  reply: 'Reply',
  forward: 'Forward',
  recall: 'Recall',
  copy: 'Copy text',
  recallTitle: 'Recall this message?',
  recallBody: 'It disappears for everyone in this chat.',
  recalledByYou: 'You recalled a message',
  recalledBy: '{name} recalled a message',
  forwarded: 'Forwarded',
  replyingTo: 'Replying to {name}: {text}',
  cancelReply: 'Cancel reply',
  forwardTo: 'Forward to…',
  forwardedTo: 'Forwarded to {name}',
  notSent: 'Not sent yet',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  readBy: 'Read by {count} of {of}',
  you: 'You',
  youObject: 'you',
  composer: 'Message',
  composerHint: 'Enter sends, Shift+Enter adds a line',
  send: 'Send',
  attach: 'Attach a file or image',
  uploading: 'Uploading {name}: {percent}%',
  dropHere: 'Drop files to send them',
  tooLong: '{count} characters over the limit',
  counter: '{count} of {max} characters',
  removedReason: 'You were removed from this group. You can still read its history.',
  exitedReason: 'You left this group.',
  dissolvedReason: 'This group was dissolved. It is read-only now.',
  archivedReason: 'This conversation was archived by the platform. It is read-only.',
  mutedReason: 'You are muted in this group until {time}.',
  mutedForeverReason: 'You are muted in this group.',
  adminsOnlyReason: 'Only the owner and admins can post in this group.',
  notMemberReason: 'You are not a member of this conversation.',
  image: 'Image',
  imageFrom: 'Image from {name}',
  openImage: 'Open image',
  imageViewer: 'Image',
  file: 'File',
  voice: '[voice]',
  video: '[video]',
  card: '[card]',
  members: 'Members ({count})',
  roleOwner: 'owner',
  roleAdmin: 'admin',
  roleMember: 'member',
  mutedUntil: 'muted until {time}',
  memberActions: 'Actions for {name}',
  removeMember: 'Remove from group',
  removeTitle: 'Remove {name} from the group?',
  makeAdmin: 'Make admin',
  makeMember: 'Make regular member',
  muteMember: 'Mute for 1 hour',
  muteMemberDay: 'Mute for 1 day',
  unmuteMember: 'Unmute',
  transfer: 'Make owner',
  transferTitle: 'Make {name} the owner?',
  transferBody: 'You become an admin and can no longer dissolve the group.',
  invite: 'Invite',
  inviteLabel: 'Invite someone',
  rename: 'Rename',
  renameLabel: 'Group name',
  avatar: 'Group picture',
  avatarChange: 'Change picture',
  announcement: 'Announcement',
  announce: 'Post announcement',
  muteAll: 'Only owner and admins may post',
  dissolve: 'Dissolve group',
  dissolveTitle: 'Dissolve this group?',
  dissolveBody: 'Nobody can post in it any more. This cannot be undone.',
  leave: 'Leave group',
  leaveTitle: 'Leave this group?',
  saved: 'Saved',
  newMessageFrom: 'New message from {name}: {text}',
  sysCreated: '{actor} created the group “{name}”',
  sysJoined: '{target} joined (invited by {actor})',
  sysJoinedSelf: '{target} joined',
  sysExited: '{actor} left the group',
  sysRemoved: '{actor} removed {target}',
  sysRemovedYou: '{actor} removed you from the group',
  sysRoleAdmin: '{actor} made {target} an admin',
  sysRoleMember: '{actor} made {target} a regular member',
  sysOwner: '{actor} made {target} the owner',
  sysMuted: '{actor} muted {target} until {time}',
  sysUnmuted: '{actor} unmuted {target}',
  sysMuteAllOn: '{actor} allowed only the owner and admins to post',
  sysMuteAllOff: '{actor} allowed everyone to post again',
  sysRenamed: '{actor} renamed the group to “{name}”',
  sysAvatar: '{actor} changed the group picture',
  sysAnnouncement: '{actor} posted an announcement: {text}',
  sysDissolved: '{actor} dissolved the group',
  bytes: '{n} B',
  kilobytes: '{n} KB',
  megabytes: '{n} MB',
};

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  appName: 'convosync',
  signInTitle: '登录',
  signInIntro: '开发环境登录：输入一个用户名。',
  signInName: '用户名',
  signInSubmit: '登录',
  signInToken: '改用令牌登录',
  signInTokenLabel: '令牌（JWT）',
  devSignInOff: '该服务器已关闭开发登录（已设置 JWT_SECRET），请粘贴令牌。',
  signedInAs: '当前用户：{name}',
  online: '在线',
  offline: '离线：修改会保留并稍后发送',
  signOut: '退出登录',
  signOutTitle: '退出登录？',
  signOutClear: '同时删除保存在本设备上的消息',
  signOutClearHint: '删除后，未发送的消息将丢失。',
  language: '语言',
  notificationsOn: '开启通知',
  notificationsBlocked: '浏览器设置已禁止通知。',
  chats: '会话',
  newChat: '发起聊天',
  newGroup: '创建群聊',
  findPeople: '按名字查找用户',
  noPeople: '没有找到登录过的该用户。',
  peopleUnavailable: '该服务器不支持查找用户。',
  startChat: '开始聊天',
  groupName: '群名称',
  groupMembers: '成员',
  addMember: '添加 {name}',
  removeChip: '移除 {name}',
  createGroup: '创建群聊',
  groupNeedsName: '请填写群名称。',
  groupNeedsMembers: '请至少添加一名成员。',
  cancel: '取消',
  close: '关闭',
  confirm: '确定',
  search: '搜索消息',
  searchButton: '搜索',
  noResults: '没有找到消息。',
  searchResults: '搜索结果',
  showArchived: '显示已归档会话',
  emptyList: '还没有会话。点击“发起聊天”开始。',
  pickChat: '选择一个会话，或发起新的聊天。',
  unreadBadge: '{count} 条未读',
  mutedLabel: '已免打扰',
  pinned: '已置顶',
  dissolvedTag: '已解散',
  archivedTag: '已归档',
  draft: '草稿：{text}',
  chatOptions: '{name} 的选项',
  pin: '置顶',
  unpin: '取消置顶',
  mute: '消息免打扰',
  unmute: '取消免打扰',
  archive: '归档',
  unarchive: '取消归档',
  deleteChat: '删除会话',
  deleteChatTitle: '从列表中删除该会话？',
  deleteChatBody: '该会话将从你所有设备的列表中消失，收到新消息时会重新出现。其他人不受影响。',
  back: '返回会话列表',
  groupInfo: '群信息',
  onlineNow: '在线：{names}',
  manyOnline: '{count} 人在线',
  typingOne: '{names} 正在输入…',
  typingMany: '{names} 正在输入…',
  typingCount: '{count} 人正在输入…',
  messages: '消息',
  loadingOlder: '正在加载更早的消息…',
  newMessagesDivider: '以下为新消息',
  jumpToLatest: '回到最新',
  jumpNew: '{count} 条新消息，回到最新',
  today: '今天',
  yesterday: '昨天',
  messageActions: '{name} 的消息的操作',
  reply: '回复',
  forward: '转发',
  recall: '撤回',
  copy: '复制文字',
  recallTitle: '撤回这条消息？',
  recallBody: '会话中的所有人都将看不到它。',
  recalledByYou: '你撤回了一条消息',
  recalledBy: '{name} 撤回了一条消息',
  forwarded: '转发的消息',
  replyingTo: '回复 {name}：{text}',
  cancelReply: '取消回复',
  forwardTo: '转发到…',
  forwardedTo: '已转发给 {name}',
  notSent: '尚未发送',
  sent: '已发送',
  delivered: '已送达',
  read: '已读',
  readBy: '{of} 人中 {count} 人已读',
  you: '你',
  youObject: '你',
  composer: '消息',
  composerHint: 'Enter 发送，Shift+Enter 换行',
  send: '发送',
  attach: '发送文件或图片',
  uploading: '正在上传 {name}：{percent}%',
  dropHere: '松开即可发送文件',
  tooLong: '超出上限 {count} 个字符',
  counter: '{count}/{max} 个字符',
  removedReason: '你已被移出该群，仍可查看历史消息。',
  exitedReason: '你已退出该群。',
  dissolvedReason: '该群已解散，现为只读。',
  archivedReason: '该会话已被平台归档，只读。',
  mutedReason: '你已被禁言，直到 {time}。',
  mutedForeverReason: '你已被禁言。',
  adminsOnlyReason: '该群仅允许群主和管理员发言。',
  notMemberReason: '你不是该会话的成员。',
  image: '图片',
  imageFrom: '{name} 发送的图片',
  openImage: '查看图片',
  imageViewer: '图片',
  file: '文件',
  voice: '[语音]',
  video: '[视频]',
  card: '[卡片]',
  members: '成员（{count}）',
  roleOwner: '群主',
  roleAdmin: '管理员',
  roleMember: '成员',
  mutedUntil: '禁言至 {time}',
  memberActions: '{name} 的操作',
  removeMember: '移出群聊',
  removeTitle: '将 {name} 移出群聊？',
  makeAdmin: '设为管理员',
  makeMember: '取消管理员',
  muteMember: '禁言 1 小时',
  muteMemberDay: '禁言 1 天',
  unmuteMember: '解除禁言',
  transfer: '转让群主',
  transferTitle: '将群主转让给 {name}？',
  transferBody: '你将成为管理员，且不能再解散该群。',
  invite: '邀请',
  inviteLabel: '邀请成员',
  rename: '修改',
  renameLabel: '群名称',
  avatar: '群头像',
  avatarChange: '更换头像',
  announcement: '群公告',
  announce: '发布公告',
  muteAll: '仅群主和管理员可发言',
  dissolve: '解散群聊',
  dissolveTitle: '解散该群？',
  dissolveBody: '解散后任何人都不能再发言，且无法恢复。',
  leave: '退出群聊',
  leaveTitle: '退出该群？',
  saved: '已保存',
  newMessageFrom: '{name} 发来新消息：{text}',
  sysCreated: '{actor} 创建了群聊“{name}”',
  sysJoined: '{actor} 邀请 {target} 加入了群聊',
  sysJoinedSelf: '{target} 加入了群聊',
  sysExited: '{actor} 退出了群聊',
  sysRemoved: '{actor} 将 {target} 移出了群聊',
  sysRemovedYou: '{actor} 将你移出了群聊',
  sysRoleAdmin: '{actor} 将 {target} 设为管理员',
  sysRoleMember: '{actor} 取消了 {target} 的管理员',
  sysOwner: '{actor} 将群主转让给 {target}',
  sysMuted: '{actor} 将 {target} 禁言至 {time}',
  sysUnmuted: '{actor} 解除了 {target} 的禁言',
  sysMuteAllOn: '{actor} 开启了全员禁言',
  sysMuteAllOff: '{actor} 关闭了全员禁言',
  sysRenamed: '{actor} 将群名称改为“{name}”',
  sysAvatar: '{actor} 更换了群头像',
  sysAnnouncement: '{actor} 发布了群公告：{text}',
  sysDissolved: '{actor} 解散了群聊',
  bytes: '{n} 字节',
  kilobytes: '{n} KB',
  megabytes: '{n} MB',
};

export const TABLES: Record<Language, Record<Key, string>> = { en, 'zh-CN': zh };
const LANGUAGE_KEY = 'convosync.language';

export function initialLanguage(): Language {
  if (typeof localStorage === 'undefined' || typeof navigator === 'undefined') return 'en';
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved === 'en' || saved === 'zh-CN') return saved;
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    if (/^zh\b/i.test(tag)) return 'zh-CN';
    if (/^en\b/i.test(tag)) return 'en';
  }
  return 'en';
}

let current: Language = initialLanguage();
const listeners = new Set<() => void>();

export function language(): Language {
  return current;
}

export function setLanguage(next: Language): void {
  current = next;
  if (typeof localStorage !== 'undefined') localStorage.setItem(LANGUAGE_KEY, next);
  if (typeof document !== 'undefined') document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

export function onLanguage(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The UI string `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  return TABLES[current][key].replace(/\{(\w+)\}/g, (_, name: string) =>
    String(params[name] ?? `{${name}}`),
  );
}

/** The sentence for an error code, in the current language. */
export function errorText(code: string | undefined): string {
  return errorMessage(code ?? 'INTERNAL', current);
}

/**
 * Formatters are built once per language and options: `toLocaleTimeString` with options builds a
 * new Intl.DateTimeFormat per call, which was most of a frame when scrolling a long chat.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(kind: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${current}|${kind}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(current, options);
    formatters.set(key, found);
  }
  return found;
}

export function formatTime(ms: number): string {
  return formatter('time', { hour: '2-digit', minute: '2-digit' }).format(ms);
}

export function formatDay(ms: number, now = Date.now()): string {
  const day = startOfDay(ms);
  const today = startOfDay(now);
  if (day === today) return t('today');
  if (day === today - 86_400_000) return t('yesterday');
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return sameYear
    ? formatter('day', { weekday: 'short', month: 'short', day: 'numeric' }).format(ms)
    : formatter('day-year', {
        weekday: 'short',
        month: 'short',
        day: 'numeric',
        year: 'numeric',
      }).format(ms);
}

export function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** 22 B, 3.4 KB, 1.2 MB: the size a person expects (never "1 KB" for 22 bytes). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return t('bytes', { n: bytes });
  if (bytes < 1024 * 1024)
    return t('kilobytes', { n: (bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0) });
  return t('megabytes', { n: (bytes / 1048576).toFixed(1) });
}
