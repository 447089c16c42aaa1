import type { AlertTarget } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { emptyTargetForm, routingText, targetFormOf, validateNewTarget, validateTargetUpdate } from './alert-targets';

const ORG = '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e';

function stored(): AlertTarget {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    kind: 'betterstack',
    name: 'On call',
    enabled: true,
    routing: { severities: ['critical'], organizationIds: [ORG], includeFleet: false },
    allowPrivateAddress: false,
    config: {
      baseUrl: 'https://uptime.betterstack.com',
      requesterEmail: 'soc@example.com',
      policy: {
        critical: { call: true, sms: true, email: true, push: true },
        warning: { call: false, sms: false, email: true, push: false },
        info: { call: false, sms: false, email: false, push: false },
      },
    },
    secretHint: 'wxyz',
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
  };
}

describe('alert target forms', () => {
  it('build a BetterStack target with its token and routing', () => {
    const form = { ...emptyTargetForm('betterstack'), requesterEmail: 'soc@example.com', secret: 'token-123456' };
    const result = validateNewTarget(form);
    expect(result.ok).toBe(true);
    if (result.ok && result.body.kind === 'betterstack') {
      expect(result.body.token).toBe('token-123456');
      expect(result.body.config.baseUrl).toBe('https://uptime.betterstack.com');
      expect(result.body.routing).toEqual({ severities: ['critical', 'warning'], organizationIds: null, includeFleet: true });
    }
  });

  it('name the bad fields: URL, e-mail, a short secret, no severity', () => {
    const form = { ...emptyTargetForm('betterstack'), url: 'ftp://x', requesterEmail: 'nobody', secret: 'short', severities: [] };
    const result = validateNewTarget(form);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(Object.keys(result.errors).sort()).toEqual(['requesterEmail', 'secret', 'severities', 'url']);
      expect(result.errors.secret).toBe('must be at least 8 characters');
    }
    const webhook = validateNewTarget({ ...emptyTargetForm('webhook'), name: 'hook', url: 'https://hooks.example.com/x', secret: '' });
    expect(webhook.ok ? {} : webhook.errors).toHaveProperty('secret');
  });

  it('edit without the stored secret (never returned) and send a new one only when typed', () => {
    const form = targetFormOf(stored());
    expect(form.secret).toBe('');
    expect(form.policy.warning).toEqual({ call: false, sms: false, email: true, push: false });
    expect(form.organizationIds).toEqual([ORG]);
    const keep = validateTargetUpdate(form);
    expect(keep.ok && 'secret' in keep.body).toBe(false);
    const replace = validateTargetUpdate({ ...form, secret: 'new-token-42' });
    expect(replace.ok && replace.body.secret).toBe('new-token-42');
    const bad = validateTargetUpdate({ ...form, secret: 'x' });
    expect(bad.ok ? {} : bad.errors.secret).toBe('must be at least 8 characters');
  });

  it('reads the routing as a line', () => {
    expect(routingText(stored().routing, () => 'Acme')).toBe('critical · Acme');
    expect(routingText({ severities: ['critical', 'warning'], organizationIds: null, includeFleet: true }, () => undefined)).toBe(
      'critical, warning · all organizations · fleet alerts',
    );
  });
});
