import { describe, expect, it } from 'vitest';
import { renderWgQuickConfig, type Tunnel } from './wg-config.js';

const PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const HUB = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const DEVICE_ID = '0b9f3c1e-6f5a-4c43-9d0e-2f4b1a7c8d90';
const tunnel = (overrides: Partial<Tunnel> = {}): Tunnel => ({
  address: '10.10.0.21',
  prefixLength: 24,
  hubPublicKey: HUB,
  hubEndpoint: 'hub.example.com:51820',
  hubAddress: '10.10.0.1',
  allowedIps: ['10.10.0.1/32'],
  persistentKeepaliveSeconds: 25,
  ...overrides,
});

describe('renderWgQuickConfig', () => {
  it('renders the interface and the hub peer', () => {
    expect(renderWgQuickConfig({ privateKey: PRIVATE, tunnel: tunnel(), deviceId: DEVICE_ID })).toBe(
      [
        `# Written by xspectre-agent enroll for device ${DEVICE_ID}. Re-enrolling rewrites it.`,
        '[Interface]',
        `PrivateKey = ${PRIVATE}`,
        'Address = 10.10.0.21/24',
        '',
        '[Peer]',
        `PublicKey = ${HUB}`,
        'Endpoint = hub.example.com:51820',
        'AllowedIPs = 10.10.0.1/32',
        'PersistentKeepalive = 25',
        '',
      ].join('\n'),
    );
  });

  it('accepts IPv6 endpoints and several allowed networks', () => {
    const text = renderWgQuickConfig({
      privateKey: PRIVATE,
      tunnel: tunnel({ hubEndpoint: '[2001:db8::1]:51820', allowedIps: ['10.10.0.1/32', 'fd00::1/128'] }),
      deviceId: DEVICE_ID,
    });
    expect(text).toContain('Endpoint = [2001:db8::1]:51820\n');
    expect(text).toContain('AllowedIPs = 10.10.0.1/32, fd00::1/128\n');
  });

  it('refuses values that could inject wg-quick directives', () => {
    const bad: Partial<Tunnel>[] = [
      { hubEndpoint: 'hub:51820\nPostUp = touch /tmp/pwned' },
      { allowedIps: ['10.10.0.1/32\nPostUp = id'] },
      { allowedIps: ['0.0.0.0/33'] },
      { address: '10.10.0.21\nDNS = 1.1.1.1' },
      { address: 'not-an-ip' },
    ];
    for (const overrides of bad) {
      expect(() => renderWgQuickConfig({ privateKey: PRIVATE, tunnel: tunnel(overrides), deviceId: DEVICE_ID })).toThrow();
    }
    expect(() => renderWgQuickConfig({ privateKey: `${PRIVATE}\nPostUp = id`, tunnel: tunnel(), deviceId: DEVICE_ID })).toThrow();
    expect(() => renderWgQuickConfig({ privateKey: PRIVATE, tunnel: tunnel(), deviceId: `${DEVICE_ID}\nPostUp = id` })).toThrow();
  });
});
