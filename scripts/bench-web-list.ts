/**
 * The web app's message list in a real Chromium (the browser tests' harness): a private chat of
 * N messages (default 2,000 and 10,000), written by an SDK client offline and sent in one burst.
 * Reports how long filling takes, how long the chat takes to open (click to its newest message
 * on screen; first from the server, then from IndexedDB after a reload), the frame times while
 * scrolling up through the history for 3 s, and the most message rows ever in the DOM.
 *   npm run bench:web-list [-- 2000 10000]
 */
import fs from 'node:fs/promises';
import WebSocket from 'ws';
import { createClient } from '../client/index.js';
import {
  buildWeb,
  launchChromium,
  openApp,
  signIn,
  startWebServer,
} from '../test/browser/harness.js';

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const counts = sizes.length > 0 ? sizes : [2_000, 10_000];

const webDir = await buildWeb();
const browser = await launchChromium();
const web = await startWebServer(webDir, {
  SNAPSHOTS: 'off',
  RATE_LIMIT_IDENTITY: 'off',
  RATE_LIMIT_CONVERSATION: 'off',
});

async function token(identity: string): Promise<string> {
  const res = await fetch(`${web.url}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity }),
  });
  return ((await res.json()) as { data: { token: string } }).data.token;
}

try {
  for (const n of counts) {
    const sender = `writer${n}`;
    const reader = `reader${n}`;
    const client = createClient({
      url: web.url,
      token: await token(sender),
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      offline: true,
    });
    const chat = await client.openPrivate(reader);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        chat.send({
          content: `message ${i}${i % 7 === 0 ? `\n${'a longer line '.repeat(12)}` : ''}`,
        }),
      ),
    );
    client.goOnline();
    while (chat.pendingIntents().length > 0) await new Promise((r) => setTimeout(r, 50));
    const filled = performance.now() - started;

    const user = await openApp(browser, web.url, reader);
    await signIn(user);
    const { page } = user;
    const open = async (expected: string) => {
      const item = page.locator(`[data-testid="conv-item"][data-key="${chat.key}"] .conv-open`);
      await item.waitFor({ timeout: 120_000 });
      const t0 = Date.now();
      await item.click();
      await page.waitForFunction(
        (last) =>
          [...document.querySelectorAll('[data-testid="message-content"]')].some(
            (el) => el.textContent === last,
          ),
        expected,
        { timeout: 120_000, polling: 'raf' },
      );
      return Date.now() - t0;
    };
    // The first open syncs the document from the server and shows the first unread; then it is
    // read to the end, and the second open, after a reload, comes from IndexedDB at the bottom.
    // Unread: it opens at the first unread message.
    const firstOpen = await open('message 1');
    await page.getByTestId('jump-latest').click();
    await page.waitForFunction(() => document.title === 'convosync', undefined, {
      timeout: 60_000,
    });
    await page.goto('/');
    const secondOpen = await open(`message ${n - 1}`);
    // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
    const frames = (await page.evaluate(`(async () => {
      const list = document.querySelector('[data-testid="message-list"]');
      const deltas = [];
      let maxRows = 0;
      let last = performance.now();
      const end = last + 3000;
      await new Promise((resolve) => {
        const step = (now) => {
          deltas.push(now - last);
          last = now;
          maxRows = Math.max(maxRows, list.querySelectorAll('[data-row]').length);
          list.scrollTop -= 400;
          if (now < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      deltas.sort((a, b) => a - b);
      const q = (p) => deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))];
      return { count: deltas.length, median: q(0.5), p95: q(0.95), max: q(1), maxRows };
    })()`)) as { count: number; median: number; p95: number; max: number; maxRows: number };
    console.log(
      `${n} messages: filled (SDK, one burst) ${(filled / 1000).toFixed(1)} s; open ${firstOpen} ms ` +
        `(from the server), ${secondOpen} ms (from IndexedDB); scrolling ${frames.count} frames: ` +
        `median ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms, ` +
        `max ${frames.max.toFixed(1)} ms; at most ${frames.maxRows} rows in the DOM`,
    );
    await user.context.close();
    await client.close();
  }
} finally {
  await browser.close();
  await web.close();
  await fs.rm(webDir, { recursive: true, force: true });
}
