import { describe, expect, it } from 'vitest';
import { parseWgDump } from './index.js';

const PEER_A = 'ed0mXyVoAT2gKM97bANLJxY13DCq16E15d3MMYQUjxk=';
const PEER_B = '9VJFnv01/BVHH3B9Xk69nFWit/+iuElF2gjAMPbvYVk=';
const PEER_C = 'K3zEfsFKvNLdjzY8EhkC2ANlxsA6zcRJFTZ52u2zTVY=';

// As printed by `wg show wg0 dump` (wireguard-tools 1.0.20210914).
const DUMP = [
  ['yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=', 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=', '51820', 'off'],
  [PEER_A, '(none)', '198.51.100.7:40312', '10.10.0.21/32', '1763900000', '124952', '98876', 'off'],
  [PEER_B, '(none)', '[2001:db8::5]:51820', '10.10.0.22/32,10.10.0.122/32', '1763899977', '1480', '2960', '25'],
  [PEER_C, '(none)', '(none)', '10.10.0.23/32', '0', '0', '0', 'off'],
]
  .map((fields) => fields.join('\t'))
  .join('\n');

describe('parseWgDump', () => {
  it('reads the interface and every peer, never the private key', () => {
    const status = parseWgDump(DUMP + '\n');
    expect(status).toEqual({
      publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
      listenPort: 51820,
      peers: [
        {
          publicKey: PEER_A,
          endpoint: '198.51.100.7:40312',
          allowedIps: ['10.10.0.21/32'],
          latestHandshakeAt: new Date(1763900000 * 1000),
          rxBytes: 124952,
          txBytes: 98876,
          persistentKeepaliveSeconds: null,
        },
        {
          publicKey: PEER_B,
          endpoint: '[2001:db8::5]:51820',
          allowedIps: ['10.10.0.22/32', '10.10.0.122/32'],
          latestHandshakeAt: new Date(1763899977 * 1000),
          rxBytes: 1480,
          txBytes: 2960,
          persistentKeepaliveSeconds: 25,
        },
        {
          publicKey: PEER_C,
          endpoint: null,
          allowedIps: ['10.10.0.23/32'],
          latestHandshakeAt: null,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepaliveSeconds: null,
        },
      ],
    });
    expect(JSON.stringify(status)).not.toContain('yAnz5TF');
  });

  it('handles an interface without peers, key or allowed IPs', () => {
    expect(parseWgDump('(none)\t(none)\t0\toff\n')).toEqual({ publicKey: '', listenPort: 0, peers: [] });
    const bare = parseWgDump(`(none)\t(none)\t0\toff\n${PEER_C}\t(none)\t(none)\t(none)\t0\t0\t0\toff`);
    expect(bare.peers[0]?.allowedIps).toEqual([]);
  });

  it('rejects text that is not a dump', () => {
    expect(() => parseWgDump('')).toThrow(/first line/);
    expect(() => parseWgDump('interface: wg0\n  public key: x')).toThrow(/first line/);
    expect(() => parseWgDump(DUMP.replace('124952', 'lots'))).toThrow(/line 2: transfer-rx 'lots'/);
    expect(() => parseWgDump(DUMP + '\nshort\tline')).toThrow(/line 5: expected 8/);
  });
});
