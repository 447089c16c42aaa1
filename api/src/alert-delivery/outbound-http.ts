import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { hostOf, refusedKind, type AddressPolicy } from './address-check.js';

/** Every request to a delivery target ends within this (connect, send, answer). */
export const OUTBOUND_TIMEOUT_MS = 10_000;
/** Answers are read up to this many bytes; the rest is dropped (a target cannot fill our memory). */
export const OUTBOUND_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface OutboundRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** The target's own permission to reach private addresses; else the address is checked as connected. */
  allowPrivateAddress: boolean;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  body: string;
}

/** A request that got no HTTP answer (refused, reset, timed out, a refused address). */
export class OutboundError extends Error {
  override name = 'OutboundError';
}

/**
 * One HTTP(S) request to a delivery target. The address check runs on the address actually
 * connected to (a lookup hook), not on an earlier resolution: DNS may answer differently at send
 * time than when the target was saved. No keep-alive, so every request is checked.
 */
export function outboundRequest(request: OutboundRequest, policy: AddressPolicy): Promise<OutboundResponse> {
  const url = new URL(request.url);
  const timeoutMs = request.timeoutMs ?? OUTBOUND_TIMEOUT_MS;
  const maxBytes = request.maxResponseBytes ?? OUTBOUND_MAX_RESPONSE_BYTES;
  if (!request.allowPrivateAddress) {
    const host = hostOf(request.url);
    const kind = isIP(host) !== 0 ? refusedKind(host, policy) : null;
    if (kind) return Promise.reject(new OutboundError(`refused: ${host} is ${kind} (allowPrivateAddress is off)`));
  }
  const checkedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, options, (error, address: string | LookupAddress[], family?: number) => {
      if (error || request.allowPrivateAddress) return (callback as (...a: unknown[]) => void)(error, address, family);
      const addresses = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
      for (const candidate of addresses) {
        const kind = refusedKind(candidate.address, policy);
        if (kind) {
          const refused = new OutboundError(
            `refused: ${hostname} resolves to ${candidate.address}, which is ${kind} (allowPrivateAddress is off)`,
          );
          return (callback as (...a: unknown[]) => void)(refused);
        }
      }
      (callback as (...a: unknown[]) => void)(null, address, family);
    });
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, response?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error instanceof OutboundError ? error : new OutboundError(describe(error)));
      else resolve(response!);
    };
    const req = client.request(
      url,
      {
        method: request.method,
        headers: {
          accept: 'application/json',
          ...(request.body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(request.body)) }
            : {}),
          ...request.headers,
        },
        agent: false,
        lookup: checkedLookup,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= maxBytes) return;
          chunks.push(chunk.subarray(0, maxBytes - size));
          size += chunk.length;
          if (size >= maxBytes) {
            // Enough read: the status and the start of the answer are what we act on.
            finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
            res.destroy();
          }
        });
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => finish(error));
        res.on('aborted', () => finish(new OutboundError('the answer was cut off')));
      },
    );
    const timer = setTimeout(() => {
      const error = new OutboundError(`no answer within ${timeoutMs / 1000} s`);
      finish(error);
      req.destroy(error);
    }, timeoutMs);
    req.on('error', (error) => finish(error));
    req.end(request.body);
  });
}

/** A short, secret-free description of a network failure ("ECONNREFUSED 127.0.0.1:4000", "socket hang up"). */
function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message.slice(0, 200);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
