import { describe, expect, it } from 'vitest';
import {
  COMMAND_ACTION_PARAMS,
  COMMAND_ACTIONS,
  CommandRequestSchema,
  isCriticalCommandAction,
  OPERATOR_COMMAND_ACTIONS,
} from './commands.js';

describe('command requests', () => {
  it('accepts each action with its own parameters only', () => {
    expect(CommandRequestSchema.safeParse({ action: 'service.restart', params: { unit: 'nginx.service' } }).success).toBe(true);
    expect(CommandRequestSchema.safeParse({ action: 'container.stop', params: { container: 'gvmd' } }).success).toBe(true);
    expect(CommandRequestSchema.safeParse({ action: 'reboot', params: {} }).success).toBe(true);
    expect(CommandRequestSchema.safeParse({ action: 'reboot', params: { unit: 'x.service' } }).success).toBe(false);
    expect(CommandRequestSchema.safeParse({ action: 'service.restart', params: { container: 'gvmd' } }).success).toBe(false);
    expect(CommandRequestSchema.safeParse({ action: 'shell', params: {} }).success).toBe(false);
  });

  it('refuses unit and container names that could carry options or paths', () => {
    for (const unit of ['--now.service', '../x.service', 'a b.service', 'nginx', 'x.service\n', '-x.service'.slice(1) + ';reboot'])
      expect(CommandRequestSchema.safeParse({ action: 'service.stop', params: { unit } }).success, unit).toBe(false);
    for (const container of ['-d', '../x', 'a b', '', 'x'.repeat(129)])
      expect(CommandRequestSchema.safeParse({ action: 'container.stop', params: { container } }).success, container).toBe(false);
  });

  it('marks reboot, script runs, credential rotation, key pins, agent updates, restores, monitor provisioning and the recovery reboots, restore and repair critical, the unit and container actions normal', () => {
    expect(COMMAND_ACTIONS.filter(isCriticalCommandAction)).toEqual([
      'reboot',
      'script.run',
      'credential.rotate',
      'keys.pin',
      'agent.update',
      'backup.restore',
      'scanner.provision-monitor',
      'reboot-to-recovery',
      'recovery.restore',
      'recovery.fsck',
      'recovery.reboot',
    ]);
    expect(isCriticalCommandAction('backup.run')).toBe(false);
    expect(isCriticalCommandAction('scanner.restart')).toBe(false);
    expect(isCriticalCommandAction('recovery.smart')).toBe(false);
    expect(isCriticalCommandAction('recovery.image')).toBe(false);
  });

  it('never takes backup runs, restores, report summaries or full-disk images and restores from the command routes (their own routes queue them)', () => {
    for (const action of ['backup.run', 'backup.restore', 'scanner.report-summary', 'recovery.image', 'recovery.restore'] as const) {
      expect(OPERATOR_COMMAND_ACTIONS).not.toContain(action);
      expect(CommandRequestSchema.safeParse({ action, params: {} }).success).toBe(false);
    }
  });

  it('never takes keys.pin from an operator (only the key rotation queues it), while the agent knows it', () => {
    const pin = { keyId: '0123456789abcdef', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n' };
    expect(COMMAND_ACTIONS).toContain('keys.pin');
    expect(OPERATOR_COMMAND_ACTIONS).not.toContain('keys.pin');
    expect(CommandRequestSchema.safeParse({ action: 'keys.pin', params: pin }).success).toBe(false);
    expect(COMMAND_ACTION_PARAMS['keys.pin'].safeParse(pin).success).toBe(true);
    expect(COMMAND_ACTION_PARAMS['keys.pin'].safeParse({ ...pin, keyId: 'ABCDEF0123456789' }).success).toBe(false);
  });

  it('takes settings.apply with at least one known setting in range, credential.rotate with none', () => {
    const ok = (params: unknown) => CommandRequestSchema.safeParse({ action: 'settings.apply', params }).success;
    expect(ok({ heartbeatIntervalSeconds: 60 })).toBe(true);
    expect(ok({ watch: { units: ['nginx.service'] } })).toBe(true);
    expect(ok({ watch: { units: [] } })).toBe(true);
    for (const bad of [
      {},
      { heartbeatIntervalSeconds: 9 },
      { heartbeatIntervalSeconds: 3601 },
      { heartbeatIntervalSeconds: 1.5 },
      { watch: {} },
      { watch: { units: ['a b'] } },
      { watch: { containers: ['x'] } },
      { deviceCredential: 'dc_x' },
    ])
      expect(ok(bad), JSON.stringify(bad)).toBe(false);
    expect(CommandRequestSchema.safeParse({ action: 'credential.rotate', params: {} }).success).toBe(true);
    // The credential is made by the agent, never sent in a command.
    expect(CommandRequestSchema.safeParse({ action: 'credential.rotate', params: { credential: 'dc_x' } }).success).toBe(false);
  });
});
