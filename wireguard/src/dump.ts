// `wg show IF dump`: line 1 = private-key public-key listen-port fwmark; then one line per
// peer: public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive.
// The interface's private key is read past and never returned.

export interface HubPeerStatus {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  latestHandshakeAt: Date | null;
  rxBytes: number;
  txBytes: number;
  persistentKeepaliveSeconds: number | null;
}

export interface HubInterfaceStatus {
  /** '' when the interface has no private key yet (`(none)` in the dump). */
  publicKey: string;
  listenPort: number;
  peers: HubPeerStatus[];
}

function count(text: string | undefined, what: string, line: number): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new Error(`wg dump line ${line}: ${what} '${text}' is not a number`);
  return Number(text);
}

const none = (text: string): boolean => text === '(none)';

export function parseWgDump(text: string): HubInterfaceStatus {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const head = lines[0]?.split('\t');
  if (!head || head.length !== 4) throw new Error('wg dump: the first line must be the interface (4 tab-separated fields)');
  const peers = lines.slice(1).map((line, index): HubPeerStatus => {
    const lineNo = index + 2;
    const fields = line.split('\t');
    if (fields.length !== 8) throw new Error(`wg dump line ${lineNo}: expected 8 tab-separated fields, got ${fields.length}`);
    const [publicKey, , endpoint, allowedIps, handshake, rx, tx, keepalive] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const handshakeSeconds = count(handshake, 'latest-handshake', lineNo);
    return {
      publicKey,
      endpoint: none(endpoint) ? null : endpoint,
      allowedIps: none(allowedIps) ? [] : allowedIps.split(','),
      latestHandshakeAt: handshakeSeconds === 0 ? null : new Date(handshakeSeconds * 1000),
      rxBytes: count(rx, 'transfer-rx', lineNo),
      txBytes: count(tx, 'transfer-tx', lineNo),
      persistentKeepaliveSeconds: keepalive === 'off' ? null : count(keepalive, 'persistent-keepalive', lineNo),
    };
  });
  const publicKey = head[1] ?? '';
  return { publicKey: none(publicKey) ? '' : publicKey, listenPort: count(head[2], 'listen-port', 1), peers };
}
