/**
 * Files end to end: real server, real SDK clients, real disk. Alice uploads an image into her
 * private chat with Bob and sends it; Bob downloads the exact bytes; everyone else is refused
 * with a typed error, and refused uploads leave nothing on disk.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, ConvosyncError, MessageFormat } from '../../client/index.js';
import { asIdentityId } from '../../shared/ids.js';
import { privateKey, systemKey } from '../../shared/keys.js';
import { sdkClient, startTestServer, type TestServer, token, waitFor } from '../helpers.js';

let ts: TestServer;
const clients: Client[] = [];
let alice: Client;
let bob: Client;
let carol: Client;
const chat = privateKey(asIdentityId('alice'), asIdentityId('bob'));

beforeAll(async () => {
  ts = await startTestServer();
  alice = await sdkClient(ts.httpUrl, 'alice');
  bob = await sdkClient(ts.httpUrl, 'bob');
  carol = await sdkClient(ts.httpUrl, 'carol');
  clients.push(alice, bob, carol);
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await ts.close();
});

/** A PNG header followed by random bytes: unique per call, and an image by its magic number. */
function png(size = 4096): Uint8Array<ArrayBuffer> {
  const bytes = randomBytes(size);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(bytes);
}

/** Every file under the server's FILES_DIR/<sub>, relative. */
async function stored(sub: 'blobs' | 'tmp'): Promise<string[]> {
  const root = path.join(ts.dataDir, 'files', sub);
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConvosyncError);
  return (error as ConvosyncError).code;
}

async function rest(
  pathAndQuery: string,
  init: RequestInit & { as?: string } = {},
): Promise<{ status: number; body: { code: string; data: unknown } }> {
  const headers = new Headers(init.headers);
  if (init.as) headers.set('authorization', `Bearer ${await token(init.as)}`);
  const response = await fetch(`${ts.httpUrl}${pathAndQuery}`, { ...init, headers });
  return {
    status: response.status,
    body: (await response.json()) as { code: string; data: unknown },
  };
}

/** A request path sent exactly as written (fetch would resolve `../` before sending). */
function rawGet(requestPath: string, who: string): Promise<number> {
  return token(who).then(
    (t) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: ts.server.port,
            path: requestPath,
            headers: { authorization: `Bearer ${t}` },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      }),
  );
}

describe('upload, send, download', () => {
  it('alice sends an image; bob receives the message and downloads the exact bytes', async () => {
    const bytes = png();
    const aliceChat = await alice.openPrivate('bob');
    await aliceChat.whenSynced();
    const file = await alice.upload(chat, bytes, {
      format: MessageFormat.Image,
      mime: 'image/png',
      name: 'cat.png',
    });
    expect(file).toEqual({
      url: expect.stringMatching(new RegExp(`^/api/v1/files/${chat}/[0-9a-f]{64}$`)),
      size: bytes.length,
      mime: 'image/png',
      name: 'cat.png',
    });
    await aliceChat.send({ format: MessageFormat.Image, content: '', file });

    const bobChat = await bob.openPrivate('alice');
    const received = await waitFor(
      () => bobChat.messages().find((m) => m.file?.url === file.url && !m.pending),
      10_000,
      'bob receives the image message',
    );
    expect(received.format).toBe(MessageFormat.Image);
    const downloaded = await bob.download(received.file!);
    expect(Buffer.compare(downloaded, bytes)).toBe(0);
  });

  it('serves a file with its type, length, ETag and safe headers; 304 when unchanged', async () => {
    const bytes = png(1000);
    const file = await alice.upload(chat, bytes, {
      format: MessageFormat.Image,
      mime: 'image/png',
    });
    const sha = file.url.split('/').pop()!;
    const response = await fetch(`${ts.httpUrl}${file.url}`, {
      headers: { authorization: `Bearer ${await token('bob')}` },
    });
    expect(response.status).toBe(200);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    expect(headers).toMatchObject({
      'content-type': 'image/png',
      'content-length': '1000',
      etag: `"${sha}"`,
      'cache-control': expect.stringMatching(/^private/),
      'x-content-type-options': 'nosniff',
      'content-disposition': 'inline',
    });
    expect(Buffer.compare(new Uint8Array(await response.arrayBuffer()), bytes)).toBe(0);
    const head = await fetch(bob.fileSrc(file), { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, '1000']);
    const again = await fetch(`${ts.httpUrl}${file.url}`, {
      headers: { authorization: `Bearer ${await token('bob')}`, 'if-none-match': `"${sha}"` },
    });
    expect(again.status).toBe(304);
  });

  it('serves other formats as attachments under their name', async () => {
    const bytes = new TextEncoder().encode('<html><script>alert(document.cookie)</script></html>');
    const file = await alice.upload(chat, bytes, {
      format: MessageFormat.File,
      mime: 'text/html',
      name: 'Bericht für März.html',
    });
    const response = await fetch(bob.fileSrc(file));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="Bericht f_r M_rz.html"; filename*=UTF-8''${encodeURIComponent('Bericht für März.html')}`,
    );
    expect(response.headers.get('content-security-policy')).toContain('sandbox');
    expect(await response.text()).toContain('alert');
  });

  it('accepts ?token= on a download (what an <img src> can send)', async () => {
    const bytes = png();
    const file = await alice.upload(chat, bytes, {
      format: MessageFormat.Image,
      mime: 'image/png',
    });
    const src = bob.fileSrc(file);
    expect(src).toMatch(/\?token=/);
    const response = await fetch(src); // no Authorization header
    expect(response.status).toBe(200);
    expect(Buffer.compare(new Uint8Array(await response.arrayBuffer()), bytes)).toBe(0);
  });

  it('stores the same bytes once; each conversation keeps its own permission', async () => {
    const bytes = png();
    const before = (await stored('blobs')).length;
    const first = await rest(`/api/v1/files/${chat}?format=image`, {
      method: 'POST',
      as: 'alice',
      headers: { 'content-type': 'image/png' },
      body: bytes,
    });
    const second = await rest(`/api/v1/files/${chat}?format=image`, {
      method: 'POST',
      as: 'bob',
      headers: { 'content-type': 'image/png' },
      body: bytes,
    });
    expect(first.body.data).toMatchObject({ deduplicated: false });
    expect(second.body.data).toMatchObject({ deduplicated: true });
    const url = (first.body.data as { file: { url: string } }).file.url;
    expect((second.body.data as { file: { url: string } }).file.url).toBe(url);

    // The same bytes into alice's chat with carol: still one blob, a second reference.
    const withCarol = privateKey(asIdentityId('alice'), asIdentityId('carol'));
    const third = await alice.upload(withCarol, bytes, {
      format: MessageFormat.Image,
      mime: 'image/png',
    });
    expect((await stored('blobs')).length).toBe(before + 1);
    expect(Buffer.compare(await carol.download(third), bytes)).toBe(0);
    // ...but carol cannot reach it through the chat she is not in.
    expect(await codeOf(carol.download({ ...third, url }))).toBe('NOT_MEMBER');
  });
});

describe('refusals', () => {
  it('refuses strangers (403), anonymous requests (401) and files of other conversations (404)', async () => {
    const file = await alice.upload(chat, png(), {
      format: MessageFormat.Image,
      mime: 'image/png',
    });
    expect(await codeOf(carol.download(file))).toBe('NOT_MEMBER');
    const anonymous = await rest(file.url);
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHORIZED']);
    const forged = await fetch(`${ts.httpUrl}${file.url}?token=not-a-jwt`);
    expect(forged.status).toBe(401);
    // A member asking for bytes that were never uploaded here: not found, whatever the store has.
    const withCarol = privateKey(asIdentityId('alice'), asIdentityId('carol'));
    const elsewhere = await alice.upload(withCarol, png(), {
      format: MessageFormat.Image,
      mime: 'image/png',
    });
    const sha = elsewhere.url.split('/').pop()!;
    expect(await codeOf(bob.download({ ...elsewhere, url: `/api/v1/files/${chat}/${sha}` }))).toBe(
      'NOT_FOUND',
    );
  });

  it('refuses uploads from those who may not post there, storing nothing', async () => {
    const before = await stored('blobs');
    const bytes = png();
    expect(
      await codeOf(carol.upload(chat, bytes, { format: MessageFormat.Image, mime: 'image/png' })),
    ).toBe('NOT_MEMBER');
    // Nobody but backend services posts into a system conversation.
    expect(
      await codeOf(
        alice.upload(systemKey(asIdentityId('alice')), bytes, {
          format: MessageFormat.Image,
          mime: 'image/png',
        }),
      ),
    ).toBe('POST_FORBIDDEN');
    const anonymous = await rest(`/api/v1/files/${chat}?format=image`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: bytes,
    });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(await stored('blobs')).toEqual(before);
  });

  it('refuses a file over its format limit: in the SDK before sending, on the server too', async () => {
    const before = await stored('blobs');
    const tooBig = png(20 * 1024 * 1024 + 1);
    expect(
      await codeOf(alice.upload(chat, tooBig, { format: MessageFormat.Image, mime: 'image/png' })),
    ).toBe('FILE_TOO_LARGE');
    // A client that skips the SDK's check: refused by Content-Length before a byte is read.
    const declared = await rest(`/api/v1/files/${chat}?format=image`, {
      method: 'POST',
      as: 'alice',
      headers: { 'content-type': 'image/png' },
      body: tooBig,
    });
    expect([declared.status, declared.body.code]).toEqual([413, 'FILE_TOO_LARGE']);
    expect(await stored('blobs')).toEqual(before);
    expect(await stored('tmp')).toEqual([]);
  });

  it('stops a chunked upload (no Content-Length) at the limit while it streams', async () => {
    const before = await stored('blobs');
    const limit = 10 * 1024 * 1024; // voice
    const chunk = new Uint8Array(256 * 1024).fill(7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the limit: the server must answer without waiting for the end.
        if (sent >= 4 * limit) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${ts.httpUrl}/api/v1/files/${chat}?format=voice`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('alice')}`, 'content-type': 'audio/mpeg' },
      body,
      duplex: 'half',
    } as RequestInit);
    // Answered while the client was still sending, not after all 40 MB.
    expect(sent).toBeLessThan(4 * limit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe('FILE_TOO_LARGE');
    expect(await stored('blobs')).toEqual(before);
    await waitFor(async () => (await stored('tmp')).length === 0);
  });

  it('refuses a MIME type the format does not allow, and content that is not what it claims', async () => {
    const before = await stored('blobs');
    const html = new TextEncoder().encode('<!doctype html><script>alert(1)</script>');
    // Claimed to be a PNG: the server looks at the bytes.
    expect(
      await codeOf(alice.upload(chat, html, { format: MessageFormat.Image, mime: 'image/png' })),
    ).toBe('FILE_TYPE_MISMATCH');
    // A PNG claimed to be a JPEG.
    expect(
      await codeOf(alice.upload(chat, png(), { format: MessageFormat.Image, mime: 'image/jpeg' })),
    ).toBe('FILE_TYPE_MISMATCH');
    // An image format that may not be an image message (SVG can carry script).
    expect(
      await codeOf(
        alice.upload(chat, html, { format: MessageFormat.Image, mime: 'image/svg+xml' }),
      ),
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
    const direct = await rest(`/api/v1/files/${chat}?format=voice`, {
      method: 'POST',
      as: 'alice',
      headers: { 'content-type': 'text/html' },
      body: html,
    });
    expect([direct.status, direct.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(await stored('blobs')).toEqual(before);
  });

  it('answers malformed requests with 400 and a code', async () => {
    const noFormat = await rest(`/api/v1/files/${chat}?format=card`, {
      method: 'POST',
      as: 'alice',
      headers: { 'content-type': 'image/png' },
      body: png(),
    });
    expect([noFormat.status, noFormat.body.code]).toEqual([400, 'BAD_REQUEST']);
    const noName = await rest(`/api/v1/files/${chat}?format=file`, {
      method: 'POST',
      as: 'alice',
      body: png(),
    });
    expect([noName.status, noName.body.code]).toEqual([400, 'BAD_REQUEST']);
    const empty = await rest(`/api/v1/files/${chat}?format=image`, {
      method: 'POST',
      as: 'alice',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(),
    });
    expect([empty.status, empty.body.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('refuses path traversal in the conversation key and the hash', async () => {
    const file = await alice.upload(chat, png(), {
      format: MessageFormat.Image,
      mime: 'image/png',
    });
    const sha = file.url.split('/').pop()!;
    const attempts = [
      `/api/v1/files/${chat}/../../../../etc/passwd`,
      `/api/v1/files/${chat}/..%2F..%2F..%2Fdocs%2FCURRENT`,
      `/api/v1/files/..%2F..%2Fblobs/${sha}`,
      `/api/v1/files/${chat}%2F..%2F..%2Fblobs/${sha}`,
      `/api/v1/files/${chat}/${sha}%2F..%2F..%2F${sha}`,
      `/api/v1/files/${chat}/${sha.slice(0, 2)}%2F${sha}`,
    ];
    for (const attempt of attempts) {
      const status = await rawGet(attempt, 'alice');
      expect([400, 404], attempt).toContain(status);
    }
    const upload = await rest('/api/v1/files/..%2F..%2Ftmp?format=image', {
      method: 'POST',
      as: 'alice',
      headers: { 'content-type': 'image/png' },
      body: png(),
    });
    expect([upload.status, upload.body.code]).toEqual([400, 'INVALID_KEY']);
  });
});

it('describes both routes in the OpenAPI document', async () => {
  const doc = (await (await fetch(`${ts.httpUrl}/api/v1/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { requestBody?: unknown; parameters: unknown[] }>>;
  };
  const upload = doc.paths['/files/{key}']?.post;
  expect(upload?.requestBody).toMatchObject({ content: { '*/*': {} } });
  expect(upload?.parameters).toContainEqual(
    expect.objectContaining({ name: 'format', in: 'query', required: true }),
  );
  expect(doc.paths['/files/{key}/{sha256}']?.get).toBeDefined();
});
