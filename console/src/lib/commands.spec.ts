import { describe, expect, it } from 'vitest';
import {
  ACTION_CHOICES,
  actionLabel,
  buildCommandRequest,
  commandBlocker,
  commandPath,
  expiryText,
  mayRunAction,
  newerCommand,
  paramsText,
  commandParamsText,
  matchesCommandFilter,
  scriptIdsOf,
} from './commands';

const now = Date.parse('2026-01-01T12:00:00.000Z');
const granted =
  (...permissions: string[]) =>
  (p: string) =>
    permissions.includes(p);

describe('commands', () => {
  it('offers every action once, critical ones on their own route', () => {
    expect(new Set(ACTION_CHOICES.map((c) => c.action)).size).toBe(ACTION_CHOICES.length);
    expect(commandPath('d1', 'reboot')).toBe('devices/d1/critical-commands');
    expect(commandPath('d1', 'service.restart')).toBe('devices/d1/commands');
    expect(actionLabel('container.stop')).toBe('Stop container');
    expect(actionLabel('script.run')).toBe('Run script');
    expect(commandPath('d1', 'script.run')).toBe('devices/d1/critical-commands');
    expect(actionLabel('keys.pin')).toBe('keys.pin');
  });

  it('validates the unit and the container with the contract before sending', () => {
    expect(buildCommandRequest('service.restart', ' nginx.service ')).toEqual({
      ok: true,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    expect(buildCommandRequest('service.restart', '')).toEqual({ ok: false, error: 'Name the unit.' });
    // No suffix, a path, an option and a shell string are not unit names.
    for (const bad of ['nginx', '/etc/passwd', '-H.service', 'a.service; reboot', 'x'.repeat(300) + '.service']) {
      const r = buildCommandRequest('service.stop', bad);
      expect(r.ok, bad).toBe(false);
    }
    expect(buildCommandRequest('service.stop', 'nginx')).toEqual({ ok: false, error: 'a systemd unit name such as nginx.service' });
    expect(buildCommandRequest('container.restart', 'gvmd')).toMatchObject({ ok: true, body: { params: { container: 'gvmd' } } });
    expect(buildCommandRequest('container.restart', '')).toEqual({ ok: false, error: 'Choose the container.' });
    expect(buildCommandRequest('container.restart', '<img src=x>')).toEqual({ ok: false, error: 'a container name or id' });
    expect(buildCommandRequest('reboot', 'ignored')).toEqual({ ok: true, body: { action: 'reboot', params: {} } });
    expect(buildCommandRequest('diagnostics.collect', '')).toEqual({ ok: true, body: { action: 'diagnostics.collect', params: {} } });
  });

  it('lets a role run what its permissions and the owner allow', () => {
    const soc = granted('devices.view', 'devices.manage');
    const admin = granted('devices.view', 'devices.manage', 'devices.critical_actions');
    const readOnly = granted('devices.view');
    expect(mayRunAction('service.restart', soc, 'soc_operator', 'customer')).toBe(true);
    expect(mayRunAction('reboot', soc, 'soc_operator', 'customer')).toBe(false);
    expect(mayRunAction('service.restart', soc, 'soc_operator', 'internal')).toBe(false);
    expect(mayRunAction('reboot', admin, 'super_admin', 'internal')).toBe(true);
    expect(mayRunAction('diagnostics.collect', readOnly, 'read_only', 'customer')).toBe(false);
  });

  it('names why a device takes no commands', () => {
    expect(commandBlocker({ status: 'active', quarantine: null })).toBeNull();
    expect(commandBlocker({ status: 'pending', quarantine: null })?.code).toBe('DEVICE_NOT_ACTIVE');
    expect(commandBlocker({ status: 'active', quarantine: { since: '2026-01-01T00:00:00Z', reason: 'serial changed' } })).toMatchObject({
      code: 'DEVICE_QUARANTINED',
      reason: expect.stringContaining('neither queued nor delivered'),
    });
  });

  it('shows the expiry countdown only while a command waits for a device that is not online', () => {
    const waiting = { status: 'queued' as const, expiresAt: '2026-01-01T12:03:12.000Z' };
    expect(expiryText(waiting, 'offline', now)).toBe('expires in 3:12');
    expect(expiryText(waiting, 'never_seen', now)).toBe('expires in 3:12');
    expect(expiryText({ ...waiting, status: 'delivered' }, 'offline', now + 60_000)).toBe('expires in 2:12');
    expect(expiryText(waiting, 'online', now)).toBeNull();
    expect(expiryText({ ...waiting, status: 'running' }, 'offline', now)).toBeNull();
    expect(expiryText({ ...waiting, status: 'expired' }, 'offline', now)).toBeNull();
    expect(expiryText(waiting, 'offline', now + 193_000)).toBe('expiring…');
  });

  it('keeps the later status of two views of a command and the output only the list has', () => {
    const listed = { id: 'c', status: 'succeeded' as const, stdout: 'done' };
    expect(newerCommand(listed, { id: 'c', status: 'running' as const })).toBe(listed);
    const queued = { id: 'c', status: 'queued' as const, stdout: null };
    expect(newerCommand(queued, { id: 'c', status: 'failed' as const })).toEqual({ id: 'c', status: 'failed', stdout: null });
  });

  it('writes parameters as an operator reads them', () => {
    expect(paramsText({})).toBe('');
    expect(paramsText({ unit: 'nginx.service' })).toBe('nginx.service');
    expect(paramsText({ container: 'gvmd' })).toBe('gvmd');
    expect(paramsText({ scriptId: 's1', args: ['-v'] })).toBe('scriptId=s1 args=["-v"]');
  });

  it('names a script run by its script and lists its arguments; other actions as before', () => {
    const scriptId = '0b7f4a4e-2a54-4c33-9b1e-6d1a1f0c9a01';
    const run = {
      action: 'script.run',
      params: { scriptId, sha256: 'a'.repeat(64), interpreter: 'bash', timeoutSeconds: 60, args: ['-n', 'a b'] },
    };
    expect(commandParamsText(run, new Map([[scriptId, 'Rotate logs']]))).toBe('Rotate logs -n "a b"');
    expect(commandParamsText(run, new Map())).toBe('script 0b7f4a4e -n "a b"');
    expect(commandParamsText({ action: 'service.restart', params: { unit: 'nginx.service' } }, new Map())).toBe('nginx.service');
    expect(scriptIdsOf([run, run, { action: 'reboot', params: {} }, { action: 'script.run', params: { scriptId: 5 } }])).toEqual([
      scriptId,
    ]);
    expect(buildCommandRequest('script.run', 'anything')).toEqual({ ok: false, error: 'Choose a script.' });
  });

  it('tells whether a live command belongs in the fleet list with its filters', () => {
    const c = { status: 'queued', action: 'reboot', deviceId: 'AB-1' };
    expect(matchesCommandFilter(c, {})).toBe(true);
    expect(matchesCommandFilter(c, { status: '', action: '', deviceId: '' })).toBe(true);
    expect(matchesCommandFilter(c, { status: 'queued', action: 'reboot', deviceId: 'ab-1' })).toBe(true);
    expect(matchesCommandFilter(c, { status: 'running' })).toBe(false);
    expect(matchesCommandFilter(c, { action: 'service.stop' })).toBe(false);
    expect(matchesCommandFilter(c, { deviceId: 'other' })).toBe(false);
  });
});
