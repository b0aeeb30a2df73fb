/**
 * @module What each error code of shared/errors.ts means to a person, in the languages the web
 * app speaks (en, zh-CN). One table beside the codes: a new code fails the type check here until
 * it has both sentences. The sentences never carry ids or internal detail; the app shows them as
 * they are, and keeps the code in a data attribute for support.
 */
import type { ErrorCode } from './errors.js';

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

export const ERROR_MESSAGES = {
  BAD_REQUEST: { en: 'That request was not valid.', 'zh-CN': '请求无效。' },
  MALFORMED_MESSAGE: {
    en: 'The app sent something the server could not read. Reload the page.',
    'zh-CN': '服务器无法识别客户端发送的数据，请刷新页面。',
  },
  INVALID_IDENTITY: {
    en: 'That is not a valid user name (letters, digits, dots and dashes, at most 50).',
    'zh-CN': '用户名无效（仅限字母、数字、点和短横线，最多 50 个字符）。',
  },
  INVALID_KEY: { en: 'That conversation link is not valid.', 'zh-CN': '会话链接无效。' },
  UNAUTHORIZED: { en: 'Please sign in again.', 'zh-CN': '请重新登录。' },
  TOKEN_EXPIRED: {
    en: 'Your session expired. Please sign in again.',
    'zh-CN': '登录已过期，请重新登录。',
  },
  NOT_MEMBER: {
    en: 'You are not a member of this conversation.',
    'zh-CN': '你不是该会话的成员。',
  },
  FORBIDDEN_SERVICE_ONLY: {
    en: 'Only the platform’s back end can do this.',
    'zh-CN': '只有平台后台服务可以执行此操作。',
  },
  FORBIDDEN_STAFF_ONLY: {
    en: 'Only platform staff can do this.',
    'zh-CN': '只有平台工作人员可以执行此操作。',
  },
  NOT_FOUND: { en: 'Not found.', 'zh-CN': '未找到。' },
  CONVERSATION_NOT_FOUND: {
    en: 'This conversation does not exist.',
    'zh-CN': '该会话不存在。',
  },
  MEMBER_NOT_FOUND: { en: 'That person is not a member.', 'zh-CN': '该成员不存在。' },
  ALREADY_MEMBER: { en: 'That person is already a member.', 'zh-CN': '对方已是成员。' },
  BODY_TOO_LARGE: { en: 'That is too large to send.', 'zh-CN': '内容过大，无法发送。' },
  MISSING_DEPENDENCIES: {
    en: 'Still catching up with the server; trying again.',
    'zh-CN': '正在与服务器同步，稍后自动重试。',
  },
  CLIENT_ID_TAKEN: {
    en: 'This device clashed with another one; reconnecting.',
    'zh-CN': '设备标识冲突，正在重新连接。',
  },
  SERVER_ONLY: { en: 'Only the server can change that.', 'zh-CN': '该内容只能由服务器修改。' },
  SCHEMA_VIOLATION: {
    en: 'That change is not allowed here.',
    'zh-CN': '不允许进行该修改。',
  },
  INVALID_MESSAGE: {
    en: 'That message cannot be sent (too long, or not a valid message).',
    'zh-CN': '该消息无法发送（过长或格式无效）。',
  },
  NOT_OWN_STATE: {
    en: 'You can only change your own settings.',
    'zh-CN': '只能修改自己的设置。',
  },
  NOT_SENDER: {
    en: 'You can only send as yourself.',
    'zh-CN': '只能以自己的身份发送消息。',
  },
  CONCURRENT_CHANGE: {
    en: 'Someone changed this at the same time; trying again.',
    'zh-CN': '他人同时修改了此内容，正在重试。',
  },
  IMMUTABLE: { en: 'Sent messages cannot be edited.', 'zh-CN': '已发送的消息不能编辑。' },
  REPLY_NOT_FOUND: {
    en: 'The message you replied to no longer exists.',
    'zh-CN': '被回复的消息已不存在。',
  },
  FORWARD_NOT_FOUND: {
    en: 'That message can no longer be forwarded.',
    'zh-CN': '该消息已无法转发。',
  },
  NOT_ACCEPTED_YET: {
    en: 'Wait until the message is sent.',
    'zh-CN': '请等待消息发送完成。',
  },
  RECALL_FORBIDDEN: {
    en: 'You cannot recall this message.',
    'zh-CN': '你不能撤回这条消息。',
  },
  RECALL_WINDOW_PASSED: {
    en: 'Messages can only be recalled within 2 minutes.',
    'zh-CN': '只能撤回 2 分钟内的消息。',
  },
  ALREADY_RECALLED: { en: 'That message was already recalled.', 'zh-CN': '该消息已被撤回。' },
  ROLE_FORBIDDEN: {
    en: 'Your role in this group does not allow that.',
    'zh-CN': '你在群内的角色无权执行此操作。',
  },
  TOO_MANY_DEVICES: {
    en: 'You are signed in on too many devices in this conversation.',
    'zh-CN': '你在该会话中登录的设备过多。',
  },
  MEMBER_LIMIT: { en: 'This group is full.', 'zh-CN': '群成员已满。' },
  INVITE_FORBIDDEN: {
    en: 'Inviting people is turned off in this group.',
    'zh-CN': '该群不允许邀请成员。',
  },
  EXIT_FORBIDDEN: {
    en: 'Leaving is not allowed in this group.',
    'zh-CN': '该群不允许退出。',
  },
  READ_BACKWARDS: {
    en: 'Your read position is already further along.',
    'zh-CN': '已读位置不能回退。',
  },
  CONVERSATION_DISSOLVED: { en: 'This group was dissolved.', 'zh-CN': '该群已解散。' },
  CONVERSATION_ARCHIVED: {
    en: 'This conversation is archived and read-only.',
    'zh-CN': '该会话已归档，只读。',
  },
  POST_FORBIDDEN: {
    en: 'You cannot post in this conversation.',
    'zh-CN': '你不能在该会话中发言。',
  },
  SENSITIVE_CONTENT: {
    en: 'The message contains a word that is not allowed.',
    'zh-CN': '消息包含不允许的词语。',
  },
  RATE_LIMITED: {
    en: 'You are sending too fast; your messages will go out shortly.',
    'zh-CN': '发送过快，消息将稍后自动发出。',
  },
  MUTED: { en: 'You are muted in this group.', 'zh-CN': '你已被禁言。' },
  AWARENESS_REJECTED: {
    en: 'Your online status could not be shared.',
    'zh-CN': '无法同步你的在线状态。',
  },
  UPDATE_TOO_LARGE: {
    en: 'That change is too large to send.',
    'zh-CN': '修改内容过大，无法发送。',
  },
  FILE_TOO_LARGE: { en: 'That file is too large.', 'zh-CN': '文件过大。' },
  UNSUPPORTED_MEDIA_TYPE: {
    en: 'That kind of file cannot be sent this way.',
    'zh-CN': '不支持发送此类文件。',
  },
  FILE_TYPE_MISMATCH: {
    en: 'The file’s content does not match its type.',
    'zh-CN': '文件内容与文件类型不符。',
  },
  TOO_MANY_PENDING: {
    en: 'Too many messages at once; sending them again shortly.',
    'zh-CN': '消息过多，稍后自动重发。',
  },
  TOO_MANY_CONNECTIONS: {
    en: 'Too many open windows; close some and try again.',
    'zh-CN': '打开的窗口过多，请关闭部分后重试。',
  },
  INTERNAL: { en: 'Something went wrong on our side.', 'zh-CN': '服务器出错了。' },
  STORAGE_UNAVAILABLE: {
    en: 'The server cannot save right now; your messages will be sent later.',
    'zh-CN': '服务器暂时无法保存，消息将稍后发送。',
  },
  SHUTTING_DOWN: {
    en: 'The server is restarting; reconnecting shortly.',
    'zh-CN': '服务器正在重启，稍后自动重连。',
  },
  FENCED: {
    en: 'The server moved this conversation; reconnecting shortly.',
    'zh-CN': '服务器正在切换该会话，稍后自动重连。',
  },
  UNREACHABLE: {
    en: 'The server cannot be reached. Changes are kept and sent later.',
    'zh-CN': '无法连接服务器，修改会保留并稍后发送。',
  },
} as const satisfies Record<ErrorCode, Record<Language, string>>;

/** The sentence for `code` in `language` (an unknown code reads as INTERNAL). */
export function errorMessage(code: string, language: Language): string {
  const entry = (ERROR_MESSAGES as Record<string, Record<Language, string>>)[code];
  return (entry ?? ERROR_MESSAGES.INTERNAL)[language];
}
