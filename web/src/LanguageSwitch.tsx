/** @module The language picker (en / 简体中文), kept in localStorage. */
import { useId } from 'preact/hooks';
import type { Language } from '../../shared/error-messages.js';
import { language, setLanguage, t } from './i18n.js';
import { useLanguage } from './state.js';

export function LanguageSwitch() {
  useLanguage();
  const id = useId();
  return (
    <span class="language">
      <label for={id} class="sr-only">
        {t('language')}
      </label>
      <select
        id={id}
        data-testid="language"
        value={language()}
        onChange={(e) => setLanguage((e.target as HTMLSelectElement).value as Language)}
      >
        <option value="en">English</option>
        <option value="zh-CN" lang="zh-CN">
          简体中文
        </option>
      </select>
    </span>
  );
}
