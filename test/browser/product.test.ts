/**
 * The web app as a product, in a real Chromium against the real server: reading position in a
 * 500-message chat, the phone layout, keyboard-only use, the states after removal and
 * dissolution, notifications (with a permission stub) and the tab title, and axe-core on every
 * main view (no serious or critical violation). Other parties are SDK clients in this process,
 * signed in through the same development sign-in. Screenshots go to test-artifacts/browser/.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Client, createClient } from '../../client/index.js';
import { asIdentityId } from '../../shared/ids.js';
import {
  buildWeb,
  byKey,
  captureFailure,
  eventually,
  expectMessages,
  expectText,
  launchChromium,
  openApp,
  openConversation,
  screenshot,
  send,
  signIn,
  startWebServer,
  type User,
  type WebServer,
} from './harness.js';

const require = createRequire(import.meta.url);
/** The smallest valid PNG (1×1, transparent): the server checks an image's bytes. */
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
let webDir: string;
let web: WebServer;
let browser: Browser;
const users: User[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  [webDir, browser] = await Promise.all([buildWeb(), launchChromium()]);
  // A 500-message burst charges the sender's rate buckets in full (100 per 10 s by default): the
  // next message would wait ~40 s. Room for the burst and what follows.
  web = await startWebServer(webDir, {
    RATE_LIMIT_IDENTITY: '1000/10s',
    RATE_LIMIT_CONVERSATION: '2000/10s',
  });
  console.log(
    `browser screenshots: ${new URL('../../test-artifacts/browser/', import.meta.url).pathname}`,
  );
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await captureFailure(context.task.name, users);
  for (const user of users.splice(0)) await user.context.close().catch(() => undefined);
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
  if (webDir) await fs.rm(webDir, { recursive: true, force: true });
}, 30_000);

/** Another party: an SDK client signed in through the development sign-in. */
async function sdk(identity: string, options: { offline?: boolean } = {}): Promise<Client> {
  const res = await fetch(`${web.url}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity }),
  });
  const { data } = (await res.json()) as { data: { token: string } };
  const client = createClient({
    url: web.url,
    token: data.token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    ...options,
  });
  clients.push(client);
  // A first sync is a sign-in: the people directory learns the identity.
  if (!options.offline) await (await client.inbox()).whenSynced();
  return client;
}

async function user(identity: string, viewport?: { width: number; height: number }) {
  const u = await openApp(browser, web.url, identity, viewport);
  users.push(u);
  await signIn(u);
  return u;
}

/** axe-core on the page as it is: no serious or critical violation. */
async function expectAccessible(page: Page, view: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window)))
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (c: unknown) => Promise<AxeResult> } }).axe;
    type AxeResult = {
      violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
    };
    const result = await axe.run(document);
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${view}`).toEqual([]);
}

/** Where a message sits in the list's viewport (px from its top), or undefined if not rendered. */
function positionOf(page: Page, key: string): Promise<number | undefined> {
  return page.evaluate((k) => {
    const list = document.querySelector('[data-testid="message-list"]')!;
    const row = list.querySelector(`[data-testid="message"][data-key="${k}"]`);
    if (!row) return undefined;
    return row.getBoundingClientRect().top - list.getBoundingClientRect().top;
  }, key);
}

function listState(page: Page) {
  return page.evaluate(() => {
    const list = document.querySelector('[data-testid="message-list"]') as HTMLElement;
    const rows = list.querySelectorAll('[data-row]');
    const messages = [...list.querySelectorAll<HTMLElement>('[data-testid="message"]')];
    const box = list.getBoundingClientRect();
    const visible = messages.filter((m) => {
      const r = m.getBoundingClientRect();
      return r.bottom > box.top && r.top < box.bottom;
    });
    return {
      rows: rows.length,
      scrollTop: list.scrollTop,
      atBottom: list.scrollTop + list.clientHeight >= list.scrollHeight - 4,
      visible: visible.map((m) => m.querySelector('[data-testid="message-content"]')?.textContent),
      firstVisibleKey: visible[0]?.dataset.key,
    };
  });
}

describe('the web app as a product', () => {
  it('a 500-message burst: listed, opens at the first unread, stays put while reading, jump to latest, older messages load anchored', async () => {
    const quinn = await user('quinn');
    await expectAccessible(quinn.page, 'the empty conversation list');
    // pam writes 500 messages offline and sends them in one burst.
    const pam = await sdk('pam', { offline: true });
    const chat = await pam.openPrivate('quinn');
    await Promise.all(Array.from({ length: 500 }, (_, i) => chat.send({ content: `m${i}` })));
    pam.goOnline();
    await eventually(
      'pam: all 500 accepted',
      async () => {
        expect(chat.pendingIntents().length).toBe(0);
      },
      30_000,
    );

    // The chat appears in quinn's list with its unread count.
    const item = byKey(quinn.page.getByTestId('conv-list'), 'conv-item', chat.key);
    await expectText(
      item.getByTestId('conv-unread'),
      '99+',
      'quinn: the chat is listed, 500 unread',
    );
    await openConversation(quinn.page, chat.key);
    // It opens at the first unread message (the divider), not at the bottom.
    await eventually('quinn: the chat opens at the first unread', async () => {
      const state = await listState(quinn.page);
      expect(state.visible[0]).toBe('m0');
      expect(state.atBottom).toBe(false);
      expect(await quinn.page.getByTestId('unread-divider').isVisible()).toBe(true);
    });
    expect((await listState(quinn.page)).rows).toBeLessThanOrEqual(30);
    await screenshot(quinn.page, '10-opens-at-first-unread');

    // Read to the bottom, then scroll up into the history.
    await quinn.page.getByTestId('jump-latest').click();
    await eventually('quinn: at the bottom', async () => {
      const state = await listState(quinn.page);
      expect(state.atBottom).toBe(true);
      expect(state.visible.at(-1)).toBe('m499');
    });
    await quinn.page.getByTestId('message-list').evaluate((el) => {
      el.scrollTop -= 1500;
    });
    // Under load the virtual list may still be rendering rows after the scroll: wait for a
    // rendered message to read from.
    const { reading, before } = await eventually('quinn: reading history', async () => {
      const state = await listState(quinn.page);
      expect(state.atBottom).toBe(false);
      expect(state.firstVisibleKey).toBeDefined();
      const at = await positionOf(quinn.page, state.firstVisibleKey!);
      expect(at).toBeDefined();
      return { reading: state.firstVisibleKey!, before: at! };
    });
    // A new message while reading history: the view stays put, the pill counts it.
    await chat.send({ content: 'are you still there?' });
    await expectText(quinn.page.getByTestId('jump-latest'), /1 new/, 'quinn: the pill counts it');
    expect(await positionOf(quinn.page, reading)).toBeCloseTo(before, 0);
    await screenshot(quinn.page, '11-reading-history-with-pill');
    await quinn.page.getByTestId('jump-latest').click();
    await eventually('quinn: the pill took him to the newest', async () => {
      expect((await listState(quinn.page)).visible.at(-1)).toBe('are you still there?');
    });

    // Reopened (everything read): at the bottom, with only the newest page loaded; scrolling
    // to the top loads older messages above without moving what is on screen.
    await eventually('quinn: all read (the tab title has no count)', async () => {
      expect(await quinn.page.title()).toBe('convosync');
    });
    await quinn.page.reload();
    await openConversation(quinn.page, chat.key);
    await eventually('quinn: reopens at the bottom', async () => {
      expect((await listState(quinn.page)).atBottom).toBe(true);
    });
    await quinn.page.getByTestId('message-list').evaluate((el) => {
      el.scrollTop = 0;
    });
    const top = await eventually('quinn: at the top of the first page', async () => {
      const state = await listState(quinn.page);
      expect(state.scrollTop).toBeGreaterThan(0); // older ones were added above
      return state;
    });
    // The message that was first on the page is still where it was, at the top.
    expect(top.visible.slice(0, 2)).toContain('m351');
    expect(top.rows).toBeLessThanOrEqual(30);
  }, 90_000);

  it('a phone: list and chat are two screens, nothing scrolls sideways, text wraps', async () => {
    const ray = await sdk('ray');
    const sue = await user('sue', { width: 390, height: 844 });
    const chat = await ray.openPrivate('sue');
    await chat.send({ content: `line one\nline two\n${'x'.repeat(300)}` });
    const item = byKey(sue.page.getByTestId('conv-list'), 'conv-item', chat.key);
    await item.waitFor();
    await screenshot(sue.page, '12-phone-list');
    await expectAccessible(sue.page, 'the phone list');
    expect(await sue.page.getByTestId('chat').count()).toBe(0);
    await item.locator('.conv-open').click();
    await sue.page.getByTestId('chat').waitFor();
    expect(await sue.page.getByTestId('conv-list').isVisible()).toBe(false);
    const layout = await sue.page.evaluate(() => {
      const input = document.querySelector('[data-testid="composer-input"]') as HTMLElement;
      const bubble = document.querySelector('.msg .bubble') as HTMLElement;
      const content = bubble.querySelector('.content') as HTMLElement;
      return {
        pageWidth: document.documentElement.scrollWidth,
        input: input.getBoundingClientRect().width,
        bubbleOverflow: bubble.scrollWidth - bubble.clientWidth,
        lines: Math.round(content.getBoundingClientRect().height / 20),
      };
    });
    expect(layout.pageWidth).toBeLessThanOrEqual(390);
    expect(layout.input).toBeGreaterThan(200);
    expect(layout.bubbleOverflow).toBeLessThanOrEqual(0);
    expect(layout.lines).toBeGreaterThanOrEqual(4); // two typed lines and the long word wrapped
    await screenshot(sue.page, '13-phone-chat');
    await expectAccessible(sue.page, 'the phone chat');
    await sue.page.getByTestId('chat-back').click();
    await sue.page.getByTestId('conv-list').waitFor();
    expect(await sue.page.getByTestId('chat').count()).toBe(0);
  }, 60_000);

  it('keyboard only: open a chat, send, reply and recall', async () => {
    const lee = await sdk('lee');
    const kim = await user('kim');
    const chat = await lee.openPrivate('kim');
    await chat.send({ content: 'hi kim' });
    await byKey(kim.page.getByTestId('conv-list'), 'conv-item', chat.key).waitFor();
    const { page } = kim;
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return {
          testid: el?.dataset.testid,
          cls: el?.className,
          key: el?.closest<HTMLElement>('[data-key]')?.dataset.key,
        };
      });
    // Tab to the chat's entry in the list, open it with Enter.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      const at = await focused();
      if (at.cls === 'conv-open' && at.key === chat.key) break;
    }
    await page.keyboard.press('Enter');
    await byKey(page, 'chat', chat.key).waitFor();
    // Tab into the composer, send.
    await page.getByTestId('composer-input').focus();
    await page.keyboard.type('hello lee');
    await page.keyboard.press('Enter');
    await expectMessages(page, 'kim: sent', (m) => {
      expect(m.find((x) => x.content === 'hello lee')?.status).not.toBe('pending');
    });
    // Back from the composer to the message list (attach button, then the list's one stop).
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect((await focused()).testid).toBe('message-menu');
    await page.keyboard.press('ArrowUp'); // to lee's message
    await page.keyboard.press('Enter'); // its menu, on "Reply"
    expect((await focused()).testid).toBe('message-reply');
    await page.keyboard.press('Enter');
    await page.getByTestId('reply-banner').waitFor();
    expect((await focused()).testid).toBe('composer-input');
    await page.keyboard.type('replying');
    await page.keyboard.press('Enter');
    await expectText(page.locator('.msg.mine .quote').first(), /hi kim/, 'kim: the reply quotes');
    // Recall is offered only for a message the server accepted: wait for the reply's ack (on a
    // loaded machine it can come after the quote renders, and the menu would end on "Copy").
    await expectMessages(page, 'kim: the reply sent', (m) => {
      expect(m.find((x) => x.content === 'replying')?.status).not.toBe('pending');
    });
    // Recall the reply: to the list, the last message, its menu, "Recall", confirm.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    expect((await focused()).testid).toBe('message-recall');
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-dialog').waitFor();
    await expectAccessible(page, 'the confirmation dialog');
    await page.keyboard.press('Tab');
    expect((await focused()).testid).toBe('confirm-ok');
    await page.keyboard.press('Enter');
    await expectMessages(page, 'kim: the reply is recalled', (m) => {
      expect(m.map((x) => x.content)).not.toContain('replying');
      expect(m.some((x) => x.recalled === 'true')).toBe(true);
    });
    await screenshot(page, '14-keyboard-recalled');
    await expectAccessible(page, 'a private chat');
  }, 60_000);

  it('removed, muted, admins-only, dissolved and archived: the composer gives way to the reason', async () => {
    const ola = await sdk('ola');
    const pia = await user('pia');
    const group = await ola.createGroup({
      name: 'Book club',
      members: [{ identity: 'pia', identityType: 1 }],
    });
    await group.send({ content: 'welcome' });
    await openConversation(pia.page, group.key);
    const blocked = pia.page.getByTestId('composer-blocked');
    await send(pia.page, 'thanks');
    await pia.page.getByTestId('group-panel-open').click();
    await expectAccessible(pia.page, 'a group chat with its panel');
    await group.muteAll(true);
    await expectText(blocked, /Only the owner and admins/, 'pia: admins-only');
    await group.muteAll(false);
    await group.mute(asIdentityId('pia'), Date.now() + 3_600_000);
    await expectText(blocked, /You are muted/, 'pia: muted');
    await group.mute(asIdentityId('pia'), null);
    await pia.page.getByTestId('composer-input').waitFor();
    await group.remove(asIdentityId('pia'));
    await expectText(blocked, /You were removed/, 'pia: removed');
    // Nothing in the group panel acts any more.
    expect(await pia.page.getByTestId('group-exit').count()).toBe(0);
    expect(await pia.page.getByTestId('group-invite-identity').count()).toBe(0);
    await screenshot(pia.page, '15-removed');
    // A reload at the group's address shows the same, not a working composer.
    await pia.page.reload();
    await expectText(pia.page.getByTestId('composer-blocked'), /You were removed/, 'pia: reload');
    expect(await pia.page.getByTestId('composer-input').count()).toBe(0);

    const other = await ola.createGroup({
      name: 'Old project',
      members: [{ identity: 'pia', identityType: 1 }],
    });
    await other.send({ content: 'closing soon' });
    await other.dissolve();
    await openConversation(pia.page, other.key);
    await expectText(
      pia.page.getByTestId('composer-blocked'),
      /dissolved/,
      'pia: dissolved, read-only',
    );
    await screenshot(pia.page, '16-dissolved');
    // Not offered as a forward target.
    const dm = await ola.openPrivate('pia');
    await dm.send({ content: 'forward me' });
    await openConversation(pia.page, dm.key);
    const message = await expectMessages(pia.page, 'pia: the message', (m) => {
      expect(m.some((x) => x.content === 'forward me')).toBe(true);
    });
    const key = message.find((x) => x.content === 'forward me')!.key!;
    const row = byKey(pia.page.getByTestId('message-list'), 'message', key);
    await row.hover();
    await row.getByTestId('message-menu').click();
    await pia.page.getByTestId('message-forward').click();
    await pia.page.getByTestId('forward-picker').waitFor();
    expect(await byKey(pia.page, 'forward-to', other.key).count()).toBe(0);
    await expectAccessible(pia.page, 'the forward dialog');
    await pia.page.keyboard.press('Escape');
    // Archived by platform staff: read-only, with the reason.
    const staff = await fetch(`${web.url}/api/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'staff', role: 'admin' }),
    });
    const { data } = (await staff.json()) as { data: { token: string } };
    const archived = await fetch(`${web.url}/api/v1/conversations/${dm.key}/status`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${data.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 3 }),
    });
    expect(archived.status).toBe(200);
    await expectText(
      pia.page.getByTestId('composer-blocked'),
      /archived by the platform/,
      'pia: archived, read-only',
    );
  }, 60_000);

  it('notifications (permission stub) respect mute; the tab title counts unread', async () => {
    const context = await browser.newContext({
      baseURL: web.url,
      viewport: { width: 1100, height: 760 },
    });
    await context.addInitScript(() => {
      const shown: Array<{ title: string; body?: string }> = [];
      class StubNotification {
        static permission = 'granted';
        static requestPermission = async () => 'granted';
        onclick: (() => void) | null = null;
        constructor(title: string, options?: { body?: string }) {
          shown.push({ title, ...(options?.body ? { body: options.body } : {}) });
        }
        close() {}
      }
      Object.assign(window, { Notification: StubNotification, shownNotifications: shown });
    });
    const page = await context.newPage();
    const rae = { identity: 'rae', context, page, log: [] as string[] };
    users.push(rae);
    await page.goto('/');
    await signIn(rae);
    await expectAccessible(page, 'the sign-in result (list view)');
    const sol = await sdk('sol');
    const chat = await sol.openPrivate('rae');
    await chat.send({ content: 'ping one' });
    await chat.send({ content: 'ping two' });
    await eventually('rae: the title counts 2 unread', async () => {
      expect(await page.title()).toBe('(2) convosync');
    });
    const shown = () =>
      page.evaluate(
        () => (window as unknown as { shownNotifications: unknown[] }).shownNotifications,
      );
    await eventually('rae: notified', async () => {
      expect((await shown()).length).toBeGreaterThanOrEqual(1);
    });
    expect((await shown())[0]).toMatchObject({
      title: 'sol',
      body: expect.stringMatching(/^sol: ping/),
    });
    const count = (await shown()).length;
    // Muted: no notification, and the title leaves it out.
    const item = byKey(page.getByTestId('conv-list'), 'conv-item', chat.key);
    await item.getByTestId('conv-menu').click();
    await page.getByTestId('conv-mute').click();
    await eventually('rae: muted chats leave the title', async () => {
      expect(await page.title()).toBe('convosync');
    });
    await chat.send({ content: 'ping three' });
    await expectText(item.getByTestId('conv-preview'), /ping three/, 'rae: the third arrives');
    expect((await shown()).length).toBe(count);
    // Deleted from the list (after a confirmation), back with the next message.
    await item.getByTestId('conv-menu').click();
    await page.getByTestId('conv-delete').click();
    await page.getByTestId('confirm-ok').click();
    await eventually('rae: the chat left the list', async () => {
      expect(await item.count()).toBe(0);
    });
    await chat.send({ content: 'ping four' });
    await expectText(item.getByTestId('conv-preview'), /ping four/, 'rae: back with a new message');
    // Opening the chat reads it.
    await item.getByTestId('conv-menu').click();
    await page.getByTestId('conv-mute').click();
    await openConversation(page, chat.key);
    await eventually('rae: read, the title is clear', async () => {
      expect(await page.title()).toBe('convosync');
    });
  }, 60_000);

  it('a group picture that is not one of our files is not loaded (no tracking pixel)', async () => {
    // Found by a review: an admin may write any address as the group's picture, and the panel
    // drew it for every admin who opened it, so their browsers fetched it.
    const hits: string[] = [];
    const tracker = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end();
    });
    await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
    try {
      const vic = await user('vic');
      const mallory = await sdk('mallory');
      const group = await mallory.createGroup({
        name: 'Innocent',
        members: [{ identity: 'vic', identityType: 1 }],
      });
      await group.setRole(asIdentityId('vic'), 2);
      const port = (tracker.address() as AddressInfo).port;
      await group.updateInfo({ avatar: `http://127.0.0.1:${port}/pixel.png?who=vic` });
      await group.send({ content: 'hi' });
      await openConversation(vic.page, group.key);
      await vic.page.getByTestId('group-panel-open').click();
      await vic.page.getByTestId('group-name').waitFor();
      expect(await vic.page.locator('img.group-avatar').count()).toBe(0);
      expect(hits).toEqual([]);
    } finally {
      tracker.close();
    }
  });

  it('sign-in, new group and search views pass axe, in Chinese too', async () => {
    const tia = await openApp(browser, web.url, 'tia');
    users.push(tia);
    await tia.page.getByTestId('signin-identity').waitFor();
    await expectAccessible(tia.page, 'the sign-in view');
    await signIn(tia);
    await sdk('uma');
    await tia.page.getByTestId('new-group-open').click();
    await tia.page.getByTestId('new-group-submit').click();
    await expectText(tia.page.getByTestId('new-group-problem'), /name/, 'tia: a name is required');
    await tia.page.getByTestId('new-group-name').fill('Lunch');
    await tia.page.getByTestId('new-group-submit').click();
    await expectText(
      tia.page.getByTestId('new-group-problem'),
      /member/,
      'tia: a member is required',
    );
    await tia.page.getByTestId('new-group-member').fill('nobody-here');
    await tia.page.getByTestId('people-none').waitFor();
    await tia.page.getByTestId('new-group-member').fill('um');
    await tia.page.locator('[data-testid="people-result"][data-identity="uma"]').click();
    await expectAccessible(tia.page, 'the new group dialog');
    await tia.page.getByTestId('new-group-submit').click();
    await tia.page.getByTestId('chat').waitFor();
    await send(tia.page, 'sandwiches?');
    await tia.page.getByTestId('search-input').fill('sandw');
    await tia.page.getByTestId('search-submit').click();
    await tia.page.getByTestId('search-result').first().waitFor();
    await expectAccessible(tia.page, 'search results');
    // A result opens the chat at the message, highlighted.
    await tia.page.getByTestId('search-result').first().click();
    await expectText(
      tia.page.locator('.msg.highlight [data-testid="message-content"]'),
      'sandwiches?',
      'tia: the found message is highlighted',
    );
    // An image (attach), shown in the viewer.
    await tia.page.getByTestId('composer-file').setInputFiles({
      name: 'dot.png',
      mimeType: 'image/png',
      buffer: Buffer.from(PNG_1X1, 'base64'),
    });
    await tia.page.getByTestId('message-image').click();
    await tia.page.getByTestId('image-viewer').waitFor();
    await expectAccessible(tia.page, 'the image viewer');
    await tia.page.keyboard.press('Escape');
    await eventually('tia: the viewer closes', async () => {
      expect(await tia.page.getByTestId('image-viewer').count()).toBe(0);
    });
    await tia.page.getByTestId('language').selectOption('zh-CN');
    await expectText(tia.page.getByTestId('search-submit'), '搜索', 'tia: Chinese UI');
    await expectAccessible(tia.page, 'the chat in Chinese');
    await screenshot(tia.page, '17-zh-CN');
  }, 60_000);
});
