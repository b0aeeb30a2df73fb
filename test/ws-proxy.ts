/**
 * @module A WebSocket proxy in front of a real server that a test can make close every client
 * socket with a given close code and reason, as the server would: how the clients react to each
 * code the server can send, without having to provoke each cause.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface WsProxy {
  /** http://127.0.0.1:port (the SDK's url); sockets go to /sync/... as on the server. */
  readonly httpUrl: string;
  readonly syncUrl: string;
  /** Closes every client socket with `code` and `reason` (1006: drops the TCP connection). */
  closeAll(code: number, reason: string): void;
  close(): Promise<void>;
}

export async function wsProxy(targetHttpUrl: string): Promise<WsProxy> {
  const target = targetHttpUrl.replace(/^http/, 'ws');
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (client, request) => {
    const upstream = new WebSocket(`${target}${request.url ?? '/'}`);
    const pair = { client, upstream };
    pairs.add(pair);
    const early: Buffer[] = [];
    client.on('message', (data: Buffer) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
      else early.push(data);
    });
    upstream.on('open', () => {
      for (const data of early.splice(0)) upstream.send(data);
    });
    upstream.on('message', (data: Buffer) => {
      if (client.readyState === WebSocket.OPEN) client.send(data);
    });
    upstream.on('close', (code, reason) => {
      pairs.delete(pair);
      if (client.readyState !== WebSocket.OPEN) return;
      if (code >= 1000 && code !== 1005 && code !== 1006) client.close(code, reason);
      else client.terminate();
    });
    upstream.on('error', () => client.terminate());
    client.on('close', () => {
      pairs.delete(pair);
      upstream.terminate();
    });
    client.on('error', () => upstream.terminate());
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as AddressInfo;
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    syncUrl: `ws://127.0.0.1:${port}/sync`,
    closeAll(code, reason) {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.upstream.terminate();
        if (code === 1006) pair.client.terminate();
        else pair.client.close(code, reason);
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const { client, upstream } of pairs) {
          client.terminate();
          upstream.terminate();
        }
        wss.close(() => resolve());
      }),
  };
}
