/**
 * The runner client's socket on Node, over the `ws` package (Node 20 has no WebSocket
 * client built in). The only file of the service that touches `ws`; the client loads it
 * lazily so its core stays isomorphic.
 */
import WebSocket from 'ws';
import type { RunnerSocket, SocketCallbacks, SocketFactory } from './runner-client';

/** Largest frame accepted from the dispatcher (jobs and cancels are small). */
const MAX_PAYLOAD = 1024 * 1024;

export const nodeSocketFactory: SocketFactory = (
  url: string,
  headers: Record<string, string>,
  callbacks: SocketCallbacks,
): RunnerSocket => {
  const ws = new WebSocket(url, { headers, maxPayload: MAX_PAYLOAD, handshakeTimeout: 15_000 });
  let refusedWith: number | undefined;
  ws.on('open', () => callbacks.onOpen());
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
    if (!isBinary) callbacks.onMessage(rawText(data));
  });
  ws.on('unexpected-response', (request, response) => {
    // The upgrade was answered with plain HTTP (401, 404, …): report the status, then drop it.
    refusedWith = response.statusCode;
    response.resume();
    request.destroy();
  });
  ws.on('error', () => {
    // 'close' follows every 'error'; the close handler reports it once.
  });
  ws.on('close', (code: number, reason: Buffer) =>
    callbacks.onClose(code, reason.toString('utf8'), refusedWith),
  );
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
  };
};

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
