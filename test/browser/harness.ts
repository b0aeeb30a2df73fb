/**
 * @module The browser-test harness: builds the web app (web/vite.config.ts) into a temp dir,
 * serves it from a real server in dev mode (no JWT_SECRET, so the sign-in page mints tokens) on
 * an ephemeral port, and drives a Chromium through playwright-core: the one inside the npm package
 * `@sparticuz/chromium` (so `npm ci` is the whole set-up), or a system one named by CHROMIUM_PATH.
 * One browser context
 * per user (its own IndexedDB, service worker and network switch). Screenshots go to
 * test-artifacts/browser/ (gitignored). Checks poll the page until the expected outcome shows or
 * a deadline passes, and fail with what the page showed last.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sparticuz from '@sparticuz/chromium';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { type RunningServer, startServer } from '../../server/server.js';
import { DATABASE_URL, testSchema } from '../db.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'browser');
/**
 * Flags for either Chromium. Deliberately not `@sparticuz/chromium`'s own `args`: those are
 * tuned for AWS Lambda and include `--single-process` and `--no-zygote`, with which the browser
 * dies as soon as a test opens its second context ("Target page, context or browser has been
 * closed"; checked with this suite). `--disable-background-networking` keeps Chromium from
 * dialling Google on a machine whose network is closed.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** How long a check waits for its outcome before it fails. */
const SETTLE_MS = 15_000;

/** Builds the app with the project's Vite config into a fresh temp dir; returns that dir. */
export async function buildWeb(): Promise<string> {
  const config = path.join(ROOT, 'web', 'vite.config.ts');
  if (!existsSync(config)) throw new Error(`${config} is missing: the web app is not there yet`);
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-web-'));
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  await run(
    process.execPath,
    [vite, 'build', '--config', config, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  if (!existsSync(path.join(outDir, 'index.html'))) {
    throw new Error(`vite build wrote no index.html into ${outDir}`);
  }
  return outDir;
}

export interface WebServer {
  server: RunningServer;
  /** http://127.0.0.1:port */
  url: string;
  close(): Promise<void>;
}

/**
 * The real server in dev mode (no JWT_SECRET: POST /api/dev/token exists) serving `webDir`, with
 * its database (the embedded PGlite, or DATABASE_URL in a schema of its own): the app finds
 * people through it (GET /api/v1/people).
 */
export async function startWebServer(
  webDir: string,
  env: Record<string, string> = {},
): Promise<WebServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-browser-'));
  const schema = DATABASE_URL ? testSchema() : undefined;
  const config = parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SNAPSHOTS: 'on',
    ...(DATABASE_URL && schema ? { DATABASE_URL, DATABASE_SCHEMA: schema } : {}),
    WEB_DIR: webDir,
    ...env,
  });
  if (!config.devAuth) throw new Error('the browser tests need the server in dev mode');
  const server = await startServer(config, { log: createLogger(config.logLevel) });
  return {
    server,
    url: server.url,
    async close() {
      if (schema) await server.db?.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await server.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * CHROMIUM_PATH when set (a system Chromium), else the one shipped compressed inside
 * `@sparticuz/chromium`, which `executablePath()` unpacks into the temp dir (about 2 s the first
 * time, then reused).
 */
export async function chromiumPath(): Promise<string> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(`CHROMIUM_PATH names ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  return sparticuz.executablePath();
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** One user: a browser context of its own and the app's page in it. */
export interface User {
  identity: string;
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors/warnings, printed when a test fails. */
  log: string[];
}

/** A new context for `identity` with the app open on its sign-in view (not signed in yet). */
export async function openApp(
  browser: Browser,
  baseURL: string,
  identity: string,
  viewport = { width: 1100, height: 760 },
): Promise<User> {
  const context = await browser.newContext({ baseURL, viewport });
  // An action (click, fill) on an element that never shows fails within a test's time.
  context.setDefaultTimeout(SETTLE_MS);
  const page = await context.newPage();
  const log: string[] = [];
  page.on('pageerror', (error) => log.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      log.push(`console.${message.type()}: ${message.text()}`);
    }
  });
  await page.goto('/');
  return { identity, context, page, log };
}

/** Signs in on the sign-in view and waits until the app shows the signed-in identity. */
export async function signIn(user: User): Promise<void> {
  const { page } = user;
  await page.getByTestId('signin-identity').fill(user.identity);
  await page.getByTestId('signin-submit').click();
  await expectText(page.getByTestId('me'), user.identity, `${user.identity}: me after sign-in`);
}

export async function signedIn(browser: Browser, baseURL: string, identity: string) {
  const user = await openApp(browser, baseURL, identity);
  await signIn(user);
  return user;
}

/**
 * After a failed test: a screenshot of every user's page (FAILED-<test>-<identity>.png) and
 * their console errors on stderr. Call it from afterEach, before the contexts close.
 */
export async function captureFailure(testName: string, users: readonly User[]): Promise<void> {
  const slug = testName.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
  for (const user of users) {
    await screenshot(user.page, `FAILED-${slug}-${user.identity}`).catch(() => undefined);
    if (user.log.length > 0) console.error(`[${user.identity}]\n  ${user.log.join('\n  ')}`);
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Polls `check` until it returns without throwing, or fails after `ms` with its last error:
 * the page's state is reached by sync, not by a step that can be awaited.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T>,
  ms = SETTLE_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`${what}: not reached within ${ms} ms; ${reason}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function firstText(locator: Locator): Promise<string | undefined> {
  const texts = await locator.allTextContents();
  return texts[0]?.trim();
}

/** Waits until the (first) element's text is `expected`, or matches it when it is a RegExp. */
export function expectText(
  locator: Locator,
  expected: string | RegExp,
  what: string,
): Promise<void> {
  return eventually(what, async () => {
    const seen = await firstText(locator);
    const matches =
      typeof expected === 'string' ? seen === expected : seen !== undefined && expected.test(seen);
    if (!matches) throw new Error(`expected text ${String(expected)}, saw ${JSON.stringify(seen)}`);
  });
}

export function expectAttribute(
  locator: Locator,
  name: string,
  expected: string,
  what: string,
): Promise<void> {
  return eventually(what, async () => {
    const count = await locator.count();
    if (count === 0) throw new Error('element not found');
    const seen = await locator.first().getAttribute(name);
    if (seen !== expected) {
      throw new Error(`expected ${name}=${JSON.stringify(expected)}, saw ${JSON.stringify(seen)}`);
    }
  });
}

/** `[data-testid=…][data-key=…]`: the contract's test id narrowed to one conversation/message. */
export function byKey(page: Page | Locator, testId: string, key: string): Locator {
  return page.locator(`[data-testid="${testId}"][data-key="${key}"]`);
}

/** A message as the page renders it (the contract's data attributes and content). */
export interface RenderedMessage {
  key: string | undefined;
  status: string | undefined;
  recalled: string | undefined;
  system: string | undefined;
  content: string;
  sender: string | undefined;
}

/** Every message in the open chat's message list, top to bottom. */
export function renderedMessages(page: Page): Promise<RenderedMessage[]> {
  return page
    .getByTestId('message-list')
    .getByTestId('message')
    .evaluateAll((elements) =>
      elements.map((element) => {
        const data = (element as HTMLElement).dataset;
        const part = (id: string) =>
          element.querySelector(`[data-testid="${id}"]`)?.textContent?.trim();
        return {
          key: data.key,
          status: data.status,
          recalled: data.recalled,
          system: data.system,
          content: part('message-content') ?? '',
          sender: part('message-sender'),
        };
      }),
    );
}

/** Waits until the open chat's messages satisfy `check` (which throws to say what is wrong). */
export function expectMessages(
  page: Page,
  what: string,
  check: (messages: RenderedMessage[]) => void,
  ms?: number,
): Promise<RenderedMessage[]> {
  return eventually(
    what,
    async () => {
      const messages = await renderedMessages(page);
      try {
        check(messages);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`${reason}; the list shows ${summarize(messages)}`);
      }
      return messages;
    },
    ms,
  );
}

function summarize(messages: RenderedMessage[]): string {
  const shown = messages.map(
    (m) =>
      `${JSON.stringify(m.content)}(status=${m.status}, recalled=${m.recalled}` +
      `${m.system === 'true' ? ', system' : ''})`,
  );
  return shown.length === 0 ? 'no messages' : shown.join(', ');
}

/** Types `text` into the composer and sends it with Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
  await eventually(`composer cleared after sending ${JSON.stringify(text)}`, async () => {
    const left = await input.inputValue();
    if (left !== '') throw new Error(`composer still holds ${JSON.stringify(left)}`);
  });
}

/** Opens a conversation from the list (no-op when it is already the open chat). */
export async function openConversation(page: Page, key: string): Promise<void> {
  const open = byKey(page, 'chat', key);
  if ((await open.count()) > 0) return;
  const item = byKey(page.getByTestId('conv-list'), 'conv-item', key);
  await eventually(`conversation ${key} in the list`, async () => {
    if ((await item.count()) === 0) throw new Error(`no conv-item with data-key=${key}`);
  });
  await item.first().locator('.conv-open').click();
  await eventually(`chat ${key} open`, async () => {
    if ((await open.count()) === 0) {
      const shown = await page
        .getByTestId('chat')
        .getAttribute('data-key', { timeout: 500 })
        .catch(() => null);
      throw new Error(`expected chat data-key=${key}, saw ${JSON.stringify(shown)}`);
    }
  });
}

/**
 * Starts a private chat from the sidebar: looks `other` up (people who signed in) and picks it.
 * Resolves with the chat's key once it is open.
 */
export async function startChat(page: Page, other: string): Promise<string> {
  await page.getByTestId('new-chat-identity').fill(other);
  await page.locator(`[data-testid="people-result"][data-identity="${other}"]`).click();
  return eventually(`the chat with ${other} opens`, async () => {
    const key = await page.getByTestId('chat').getAttribute('data-key', { timeout: 500 });
    if (!key?.startsWith('private_')) throw new Error(`chat data-key is ${key}`);
    return key;
  });
}

/** Opens a message's action menu and picks `action` (message-reply, -forward, -recall, …). */
export async function messageAction(page: Page, messageKey: string, action: string) {
  const message = byKey(page.getByTestId('message-list'), 'message', messageKey);
  await message.hover();
  await message.getByTestId('message-menu').click();
  await page.getByTestId(action).click();
}

/** Resolves once a service worker controls the page (what an offline reload needs). */
export async function serviceWorkerInControl(page: Page, ms = SETTLE_MS): Promise<void> {
  try {
    await page.waitForFunction(() => navigator.serviceWorker?.controller != null, undefined, {
      timeout: ms,
    });
  } catch {
    const registrations = await page.evaluate(async () =>
      (await navigator.serviceWorker.getRegistrations()).map((r) => ({
        scope: r.scope,
        active: r.active?.state ?? null,
        installing: r.installing?.state ?? null,
        waiting: r.waiting?.state ?? null,
      })),
    );
    throw new Error(
      `no service worker controls the page after ${ms} ms; registrations: ` +
        JSON.stringify(registrations),
    );
  }
}
