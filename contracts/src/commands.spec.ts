import { describe, expect, it } from 'vitest';
import { COMMAND_ACTIONS, CommandRequestSchema, isCriticalCommandAction } from './commands.js';

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

  it('marks reboot, script runs and agent updates critical and the unit and container actions normal', () => {
    expect(COMMAND_ACTIONS.filter(isCriticalCommandAction)).toEqual(['reboot', 'script.run', 'agent.update']);
  });
});
