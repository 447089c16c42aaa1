import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Problem } from '@xspectre/contracts';

/**
 * Answers an upgrade request with a plain HTTP error before any WebSocket exists: the same
 * problem+json body as every other API error, then the connection is closed.
 */
export function refuseUpgrade(socket: Duplex, problem: Problem): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(problem);
  const head = [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}`,
    'connection: close',
    'content-type: application/problem+json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    `x-request-id: ${problem.requestId ?? ''}`,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
