/**
 * @module Making a group: a name (required) and at least one member, each picked from the people
 * lookup (only identities that have signed in), shown as removable chips.
 */
import { useId, useState } from 'preact/hooks';
import type { Client } from '../../client/index.js';
import { go } from './App.js';
import type { Person } from './api.js';
import { t } from './i18n.js';
import { toastError, useLanguage } from './state.js';
import { Modal, PeoplePicker } from './ui.js';

export function NewGroup(props: { client: Client; token: string; onClose: () => void }) {
  useLanguage();
  const [name, setName] = useState('');
  const [members, setMembers] = useState<Person[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const nameId = useId();
  const problemId = useId();
  const create = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return setProblem(t('groupNeedsName'));
    if (members.length === 0) return setProblem(t('groupNeedsMembers'));
    setBusy(true);
    try {
      const group = await props.client.createGroup({
        name: name.trim(),
        members: members.map((m) => ({ identity: m.identity, identityType: m.identityType })),
      });
      props.onClose();
      go(group.key);
    } catch (error) {
      toastError(error as { code?: string });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('newGroup')} testid="new-group" onClose={props.onClose}>
      <form onSubmit={create} class="stack" noValidate>
        <label for={nameId}>{t('groupName')}</label>
        <input
          id={nameId}
          data-testid="new-group-name"
          value={name}
          maxLength={100}
          aria-describedby={problem ? problemId : undefined}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <PeoplePicker
          token={props.token}
          label={t('groupMembers')}
          testid="new-group-member"
          exclude={[props.client.identity.id, ...members.map((m) => m.identity)]}
          onPick={(person) => setMembers([...members, person])}
        />
        <ul class="chips" data-testid="new-group-members">
          {members.map((m) => (
            <li key={m.identity} class="chip" data-identity={m.identity}>
              {m.identity}
              <button
                type="button"
                class="icon"
                aria-label={t('removeChip', { name: m.identity })}
                onClick={() => setMembers(members.filter((x) => x.identity !== m.identity))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        {problem ? (
          <p id={problemId} class="problem" role="alert" data-testid="new-group-problem">
            {problem}
          </p>
        ) : null}
        <div class="buttons">
          <button type="button" onClick={props.onClose}>
            {t('cancel')}
          </button>
          <button type="submit" class="primary" data-testid="new-group-submit" disabled={busy}>
            {t('createGroup')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
