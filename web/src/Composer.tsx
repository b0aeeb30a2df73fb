/**
 * @module The composer: Enter sends (not while an input method is composing, e.g. pinyin),
 * Shift+Enter adds a line; a character counter against the message limit; reply banner; files
 * by the attach button, paste or drag and drop, each uploaded with a progress bar. When the rules
 * would refuse a post, the composer is replaced by the reason.
 */
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Inbox } from '../../client/inbox.js';
import type { Conversation, MessageView } from '../../client/index.js';
import { uploadWithProgress } from './api.js';
import { t } from './i18n.js';
import { guard, toastError } from './state.js';

interface Upload {
  id: number;
  name: string;
  fraction: number;
}
let nextUpload = 1;

export function Composer(props: {
  conversation: Conversation;
  inbox: Inbox;
  token: string;
  blocked: string | undefined;
  replyTo: MessageView | undefined;
  maxLength: number;
  onCancelReply: () => void;
  onSent: () => void;
}) {
  const { conversation, inbox } = props;
  const key = conversation.key;
  const [text, setText] = useState(
    () => inbox.list({ archived: true, deleted: true }).find((i) => i.key === key)?.draft ?? '',
  );
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const file = useRef<HTMLInputElement>(null);
  const draftTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const textRef = useRef(text);
  textRef.current = text;
  const inputId = useId();
  const hintId = useId();
  const counterId = useId();

  const saveDraft = () => {
    clearTimeout(draftTimer.current);
    const current = inbox.list({ archived: true, deleted: true }).find((i) => i.key === key);
    if (!current || (current.draft ?? '') === textRef.current) return;
    inbox.setDraft(key, textRef.current).catch(() => undefined);
  };
  useEffect(
    () => () => {
      saveDraft();
      conversation.presence.setTyping(false);
    },
    [],
  );
  // Before the paint that shows the reply banner (a layout effect): the menu that chose "Reply"
  // has just given focus back to its button, and a user (or a screen reader) who sees the banner
  // must already be in the composer.
  useLayoutEffect(() => {
    if (props.replyTo) input.current?.focus();
  }, [props.replyTo]);

  // UTF-16 units, as the server counts (shared/rules/message.ts).
  const length = text.length;
  const over = length - props.maxLength;
  const send = () => {
    const content = text.trim();
    if (!content || over > 0 || props.blocked) return;
    guard(async () => {
      await conversation.send({
        content,
        ...(props.replyTo ? { replyTo: props.replyTo.key } : {}),
      });
      setText('');
      textRef.current = '';
      saveDraft();
      props.onSent();
    });
  };

  const uploadAll = (files: readonly File[]) => {
    for (const chosen of files) {
      const upload: Upload = { id: nextUpload++, name: chosen.name || 'file', fraction: 0 };
      setUploads((list) => [...list, upload]);
      const progress = (fraction: number) =>
        setUploads((list) => list.map((u) => (u.id === upload.id ? { ...u, fraction } : u)));
      uploadWithProgress(props.token, key, chosen, progress)
        .then(({ ref, format }) => conversation.send({ content: '', format, file: ref }))
        .then(() => props.onSent())
        .catch((error) => toastError(error))
        .finally(() => setUploads((list) => list.filter((u) => u.id !== upload.id)));
    }
  };

  if (props.blocked) {
    return (
      <div class="composer blocked" data-testid="composer-blocked" role="status">
        {props.blocked}
      </div>
    );
  }
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: dropping files is a shortcut; the attach button is the keyboard way
    <div
      class={dragging ? 'composer dragging' : 'composer'}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        if (!e.dataTransfer?.files.length) return;
        e.preventDefault();
        setDragging(false);
        uploadAll([...e.dataTransfer.files]);
      }}
    >
      {props.replyTo ? (
        <div class="reply-banner" data-testid="reply-banner">
          <span>
            {t('replyingTo', {
              name: props.replyTo.sender,
              text: props.replyTo.content.slice(0, 80),
            })}
          </span>
          <button
            type="button"
            class="icon"
            aria-label={t('cancelReply')}
            onClick={props.onCancelReply}
          >
            ×
          </button>
        </div>
      ) : null}
      {uploads.map((u) => (
        <div key={u.id} class="upload" data-testid="upload-progress">
          <label>
            {t('uploading', { name: u.name, percent: Math.round(u.fraction * 100) })}
            <progress max={100} value={Math.round(u.fraction * 100)} />
          </label>
        </div>
      ))}
      {dragging ? <div class="drop-hint">{t('dropHere')}</div> : null}
      <div class="composer-row">
        <button
          type="button"
          class="icon attach"
          data-testid="composer-attach"
          aria-label={t('attach')}
          title={t('attach')}
          onClick={() => file.current?.click()}
        >
          📎
        </button>
        <input
          ref={file}
          type="file"
          multiple
          hidden
          data-testid="composer-file"
          tabIndex={-1}
          aria-hidden="true"
          onChange={(e) => {
            const target = e.target as HTMLInputElement;
            const chosen = [...(target.files ?? [])];
            target.value = '';
            uploadAll(chosen);
          }}
        />
        <label for={inputId} class="sr-only">
          {t('composer')}
        </label>
        <textarea
          id={inputId}
          ref={input}
          data-testid="composer-input"
          rows={2}
          value={text}
          placeholder={t('composer')}
          aria-describedby={`${hintId} ${counterId}`}
          aria-invalid={over > 0}
          onInput={(e) => {
            const value = (e.target as HTMLTextAreaElement).value;
            setText(value);
            conversation.presence.setTyping(value !== '');
            clearTimeout(draftTimer.current);
            draftTimer.current = setTimeout(saveDraft, 1500);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
          onPaste={(e) => {
            const files = [...(e.clipboardData?.files ?? [])];
            if (files.length === 0) return;
            e.preventDefault();
            uploadAll(files);
          }}
        />
        <button
          type="button"
          class="primary"
          data-testid="composer-send"
          disabled={over > 0}
          onClick={send}
        >
          {t('send')}
        </button>
      </div>
      <div class="composer-foot">
        <span id={hintId} class="hint">
          {t('composerHint')}
        </span>
        <span
          id={counterId}
          data-testid="composer-counter"
          class={over > 0 ? 'counter over' : 'counter'}
          aria-live="polite"
        >
          {over > 0
            ? t('tooLong', { count: over })
            : length > props.maxLength * 0.8
              ? t('counter', { count: length, max: props.maxLength })
              : ''}
        </span>
      </div>
    </div>
  );
}
