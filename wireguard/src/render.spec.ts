import { describe, expect, it } from 'vitest';
import { renderDeviceConfig, renderHubConfig } from './index.js';

const HUB = { privateKey: 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=', publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=' };
const DEV1 = { privateKey: 'WJqcP8kE2P4L6d4qan+7rcuAkAyy5//LRp3cTdZCemU=', publicKey: 'ed0mXyVoAT2gKM97bANLJxY13DCq16E15d3MMYQUjxk=' };
const DEV2 = '9VJFnv01/BVHH3B9Xk69nFWit/+iuElF2gjAMPbvYVk=';

const device = {
  privateKey: DEV1.privateKey,
  address: '10.10.0.21',
  prefixLength: 24,
  hubPublicKey: HUB.publicKey,
  hubEndpoint: 'hub.example.com:51820',
  allowedIps: ['10.10.0.1/32'],
  persistentKeepaliveSeconds: 25,
};

describe('renderDeviceConfig', () => {
  it('renders the wg-quick file', () => {
    expect(renderDeviceConfig(device)).toBe(
      `[Interface]
PrivateKey = WJqcP8kE2P4L6d4qan+7rcuAkAyy5//LRp3cTdZCemU=
Address = 10.10.0.21/24

[Peer]
PublicKey = HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=
Endpoint = hub.example.com:51820
AllowedIPs = 10.10.0.1/32
PersistentKeepalive = 25
`,
    );
  });

  it('refuses values that could inject lines or are malformed', () => {
    expect(() => renderDeviceConfig({ ...device, hubEndpoint: 'hub:51820\nPostUp = rm -rf /' })).toThrow(/endpoint/);
    expect(() => renderDeviceConfig({ ...device, hubEndpoint: 'hub' })).toThrow(/endpoint/);
    expect(() => renderDeviceConfig({ ...device, allowedIps: ['10.10.0.1/24'] })).toThrow(/allowed IP/);
    expect(() => renderDeviceConfig({ ...device, privateKey: 'x' })).toThrow(/privateKey/);
    expect(() => renderDeviceConfig({ ...device, address: '10.10.0.21/24' })).toThrow(/address/);
    expect(() => renderDeviceConfig({ ...device, persistentKeepaliveSeconds: 1.5 })).toThrow(/persistentKeepaliveSeconds/);
    expect(() => renderDeviceConfig({ ...device, allowedIps: ['fd00::1/129'] })).toThrow(/allowed IP/);
    expect(() => renderDeviceConfig({ ...device, allowedIps: ['fd00::1/128\nPostUp = id'] })).toThrow(/allowed IP/);
  });

  it('lets a device route IPv6 networks and takes an IPv6 endpoint', () => {
    const text = renderDeviceConfig({ ...device, hubEndpoint: '[2001:db8::1]:51820', allowedIps: ['10.10.0.1/32', 'fd00::1/128'] });
    expect(text).toContain('Endpoint = [2001:db8::1]:51820\n');
    expect(text).toContain('AllowedIPs = 10.10.0.1/32, fd00::1/128\n');
  });
});

describe('renderHubConfig', () => {
  const input = {
    privateKey: HUB.privateKey,
    address: '10.10.0.1',
    prefixLength: 24,
    listenPort: 51820,
    peers: [
      { publicKey: DEV1.publicKey, allowedIps: ['10.10.0.21/32'] },
      { publicKey: DEV2, allowedIps: ['10.10.0.22/32'] },
    ],
  };

  it('renders the interface and one [Peer] per device', () => {
    expect(renderHubConfig(input)).toBe(
      `[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.10.0.1/24
ListenPort = 51820

[Peer]
PublicKey = ed0mXyVoAT2gKM97bANLJxY13DCq16E15d3MMYQUjxk=
AllowedIPs = 10.10.0.21/32

[Peer]
PublicKey = 9VJFnv01/BVHH3B9Xk69nFWit/+iuElF2gjAMPbvYVk=
AllowedIPs = 10.10.0.22/32
`,
    );
    expect(renderHubConfig({ ...input, peers: [] })).toBe(
      '[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress = 10.10.0.1/24\nListenPort = 51820\n',
    );
  });

  it('allows only /32 host routes, each owned by one peer', () => {
    expect(() => renderHubConfig({ ...input, peers: [{ publicKey: DEV2, allowedIps: ['192.168.1.0/24'] }] })).toThrow(/not a \/32/);
    expect(() => renderHubConfig({ ...input, peers: [{ publicKey: DEV2, allowedIps: ['0.0.0.0/0'] }] })).toThrow(/not a \/32/);
    const clash = [
      { publicKey: DEV1.publicKey, allowedIps: ['10.10.0.21/32'] },
      { publicKey: DEV2, allowedIps: ['10.10.0.21/32'] },
    ];
    expect(() => renderHubConfig({ ...input, peers: clash })).toThrow(/claimed by/);
    expect(() => renderHubConfig({ ...input, peers: [input.peers[0]!, input.peers[0]!] })).toThrow(/listed twice/);
  });
});
