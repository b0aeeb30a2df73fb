/**
 * The web app in a real browser (Debian's Chromium via playwright-core) against the real server
 * in dev mode on an ephemeral port: every user signs in through the app's sign-in view in a
 * browser context of their own (own IndexedDB, service worker, network). Offline is the
 * context's network switch; the offline reload is served by the app's service worker.
 * Screenshots of the main views go to test-artifacts/browser/.
 */
import fs from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { privateKey } from '../../shared/keys.js';
import { id } from '../helpers.js';
import {
  buildWeb,
  byKey,
  captureFailure,
  eventually,
  expectAttribute,
  expectMessages,
  expectText,
  launchChromium,
  messageAction,
  openApp,
  openConversation,
  type RenderedMessage,
  renderedMessages,
  screenshot,
  send,
  serviceWorkerInControl,
  signedIn,
  signIn,
  startChat,
  startWebServer,
  type User,
  type WebServer,
} from './harness.js';

let webDir: string;
let web: WebServer;
let browser: Browser;

beforeAll(async () => {
  [webDir, browser] = await Promise.all([buildWeb(), launchChromium()]);
  web = await startWebServer(webDir);
}, 120_000);

/** The users of the running test, in the order they signed in; closed after it. */
const users: User[] = [];
afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await captureFailure(context.task.name, users);
  for (const user of users.splice(0)) await user.context.close().catch(() => undefined);
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
  if (webDir) await fs.rm(webDir, { recursive: true, force: true });
}, 30_000);

/** The user-visible messages (server system messages left out), by content. */
const said = (messages: RenderedMessage[]) =>
  messages.filter((m) => m.system !== 'true').map((m) => m.content);

const byContent = (messages: RenderedMessage[], content: string) => {
  const found = messages.find((m) => m.content === content);
  if (!found) throw new Error(`no message ${JSON.stringify(content)}`);
  return found;
};

async function startPrivateChat(user: User, other: string): Promise<string> {
  const key = privateKey(id(user.identity), id(other));
  await startChat(user.page, other);
  await expectAttribute(
    user.page.getByTestId('chat'),
    'data-key',
    key,
    `${user.identity}: the chat with ${other} opens`,
  );
  return key;
}

describe('web app in Chromium', () => {
  it('two users chat; sends made offline stay pending across an offline reload and arrive in order', async () => {
    const alice = await openApp(browser, web.url, 'alice');
    users.push(alice);
    await alice.page.getByTestId('signin-identity').waitFor();
    await screenshot(alice.page, '01-sign-in');
    await signIn(alice);
    const bob = await signedIn(browser, web.url, 'bob');
    users.push(bob);

    const key = await startPrivateChat(alice, 'bob');
    await send(alice.page, 'hello bob');
    await expectMessages(alice.page, 'alice: her first message goes out', (messages) => {
      expect(byContent(messages, 'hello bob').status).not.toBe('pending');
    });

    // Bob's list shows the new chat in real time, with its preview.
    const item = byKey(bob.page.getByTestId('conv-list'), 'conv-item', key);
    await expectText(
      item.getByTestId('conv-preview'),
      /hello bob/,
      'bob: the chat with its preview appears in his list',
    );
    await screenshot(bob.page, '02-conversation-list');
    await openConversation(bob.page, key);
    await expectMessages(bob.page, 'bob: receives the message', (messages) => {
      expect(said(messages)).toEqual(['hello bob']);
    });
    await send(bob.page, 'hi alice');
    await expectMessages(alice.page, 'alice: receives the reply', (messages) => {
      expect(said(messages)).toEqual(['hello bob', 'hi alice']);
    });
    await screenshot(alice.page, '03-chat');

    // Alice goes offline (the app can reload offline only from its service worker).
    await serviceWorkerInControl(alice.page);
    await alice.context.setOffline(true);
    await expectAttribute(
      alice.page.getByTestId('net-status'),
      'data-state',
      'offline',
      'alice: net-status after going offline',
    );
    const offline = ['offline one', 'offline two', 'offline three'];
    for (const text of offline) await send(alice.page, text);
    const pending = (messages: RenderedMessage[]) => {
      expect(said(messages)).toEqual(['hello bob', 'hi alice', ...offline]);
      for (const text of offline) expect(byContent(messages, text).status).toBe('pending');
    };
    await expectMessages(alice.page, 'alice: three pending messages while offline', pending);
    await screenshot(alice.page, '04-offline-pending');

    // A reload while still offline: the shell from the service worker, the messages from
    // IndexedDB, still pending.
    try {
      await alice.page.reload();
    } catch (error) {
      throw new Error(
        `alice: reloading offline failed (is the app shell and its assets served by the service ` +
          `worker?): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    await expectText(alice.page.getByTestId('me'), 'alice', 'alice: still signed in after reload');
    await expectAttribute(
      alice.page.getByTestId('net-status'),
      'data-state',
      'offline',
      'alice: net-status after the offline reload',
    );
    await openConversation(alice.page, key);
    await expectMessages(alice.page, 'alice: still pending after the offline reload', pending);
    await screenshot(alice.page, '05-offline-after-reload');
    expect(said(await renderedMessages(bob.page))).toEqual(['hello bob', 'hi alice']);

    // Back online: everything goes out, and Bob gets all three, in order, once.
    await alice.context.setOffline(false);
    await expectAttribute(
      alice.page.getByTestId('net-status'),
      'data-state',
      'online',
      'alice: net-status back online',
    );
    await expectMessages(bob.page, 'bob: receives the three offline messages in order', (m) => {
      expect(said(m)).toEqual(['hello bob', 'hi alice', ...offline]);
    });
    // Bob has the chat open, so his receipts mark them read on Alice's side.
    await expectMessages(alice.page, 'alice: the three show read by bob', (messages) => {
      for (const text of offline) expect(byContent(messages, text).status).toBe('read');
    });
  }, 90_000);

  it('a recall within the window disappears on both sides', async () => {
    const rita = await signedIn(browser, web.url, 'rita');
    users.push(rita);
    const sam = await signedIn(browser, web.url, 'sam');
    users.push(sam);

    const key = await startPrivateChat(rita, 'sam');
    await send(rita.page, 'keep this');
    await send(rita.page, 'oops, wrong chat');
    await openConversation(sam.page, key);
    const received = await expectMessages(sam.page, 'sam: receives both', (messages) => {
      expect(said(messages)).toEqual(['keep this', 'oops, wrong chat']);
    });
    const samKey = byContent(received, 'oops, wrong chat').key;
    const sent = await expectMessages(rita.page, 'rita: both sent', (messages) => {
      expect(byContent(messages, 'oops, wrong chat').status).not.toBe('pending');
    });
    const ritaKey = byContent(sent, 'oops, wrong chat').key;
    expect(ritaKey).toBeTruthy();

    await messageAction(rita.page, ritaKey ?? '', 'message-recall');
    await rita.page.getByTestId('confirm-ok').click();

    for (const [user, key] of [
      [rita, ritaKey],
      [sam, samKey],
    ] as const) {
      await expectMessages(user.page, `${user.identity}: the recalled message is gone`, (m) => {
        const recalled = m.find((entry) => entry.key === key);
        expect(recalled?.recalled).toBe('true');
        expect(m.map((entry) => entry.content)).not.toContain('oops, wrong chat');
        expect(said(m)).toContain('keep this');
      });
      await eventually(
        `${user.identity}: no text of the recalled message on the page`,
        async () => {
          const text = await user.page.getByTestId('message-list').textContent();
          if (text?.includes('oops, wrong chat'))
            throw new Error('the message list still shows it');
        },
      );
    }
    await screenshot(sam.page, '06-recalled');
  }, 60_000);

  it('a new group shows in its members lists, and an invited user sees it at once', async () => {
    const gina = await signedIn(browser, web.url, 'gina');
    users.push(gina);
    const hal = await signedIn(browser, web.url, 'hal');
    users.push(hal);
    const ivy = await signedIn(browser, web.url, 'ivy');
    users.push(ivy);

    await gina.page.getByTestId('new-group-open').click();
    await gina.page.getByTestId('new-group-name').fill('Weekend trip');
    await gina.page.getByTestId('new-group-member').fill('hal');
    await gina.page.locator('[data-testid="people-result"][data-identity="hal"]').click();
    await gina.page.getByTestId('new-group-submit').click();
    const key = await eventually('gina: the new group opens', async () => {
      const shown = await gina.page.getByTestId('chat').getAttribute('data-key', { timeout: 500 });
      if (!shown?.startsWith('group_')) throw new Error(`chat data-key is ${shown}`);
      return shown;
    });
    await expectText(gina.page.getByTestId('chat-title'), 'Weekend trip', 'gina: chat title');

    const halItem = byKey(hal.page.getByTestId('conv-list'), 'conv-item', key);
    await expectText(halItem.getByTestId('conv-name'), 'Weekend trip', 'hal: group in his list');
    expect(await byKey(ivy.page.getByTestId('conv-list'), 'conv-item', key).count()).toBe(0);

    await gina.page.getByTestId('group-panel-open').click();
    const member = (who: string) =>
      gina.page.locator(`[data-testid="member"][data-identity="${who}"]`);
    await eventually('gina: the panel lists gina and hal', async () => {
      expect(await member('gina').count()).toBe(1);
      expect(await member('hal').count()).toBe(1);
    });
    await gina.page.getByTestId('group-invite-identity').fill('ivy');
    await gina.page.locator('[data-testid="people-result"][data-identity="ivy"]').click();
    await eventually('gina: ivy is listed as a member', async () => {
      expect(await member('ivy').count()).toBe(1);
    });
    await screenshot(gina.page, '07-group-panel');

    // Ivy's list shows the group without a reload.
    const ivyItem = byKey(ivy.page.getByTestId('conv-list'), 'conv-item', key);
    await expectText(ivyItem.getByTestId('conv-name'), 'Weekend trip', 'ivy: group in her list');
    await openConversation(ivy.page, key);
    await expectMessages(ivy.page, 'ivy: the invitation notice', (messages) => {
      const notices = messages.filter((m) => m.system === 'true');
      // Her own join reads "You joined (invited by gina)".
      expect(notices.some((m) => /joined.*gina/.test(m.content))).toBe(true);
    });
    await send(ivy.page, 'thanks for the invite');
    await expectMessages(gina.page, 'gina: receives ivy’s message', (messages) => {
      expect(said(messages)).toContain('thanks for the invite');
    });
    await screenshot(ivy.page, '08-group-chat');
  }, 60_000);
});
