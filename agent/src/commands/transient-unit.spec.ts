import { describe, expect, it } from 'vitest';
import { cleanupArgs, parseUnitShow, showUnitArgs, systemdRunArgs, transientUnitName, unitCommand, unitOutcome } from './transient-unit.js';

const ID = '5b0c7d2e-1f3a-4b5c-8d9e-0a1b2c3d4e5f';

describe('transient unit commands', () => {
  it('maps each systemd action to an argument array, the unit after --', () => {
    expect(unitCommand('reboot', {})).toEqual(['systemctl', 'reboot']);
    expect(unitCommand('service.restart', { unit: 'nginx.service' })).toEqual(['systemctl', 'restart', '--', 'nginx.service']);
    expect(unitCommand('service.start', { unit: 'a@b.service' })).toEqual(['systemctl', 'start', '--', 'a@b.service']);
    expect(unitCommand('service.stop', { unit: 'x.timer' })).toEqual(['systemctl', 'stop', '--', 'x.timer']);
    expect(unitCommand('container.restart', { container: 'web' })).toBeNull();
    expect(unitCommand('diagnostics.collect', {})).toBeNull();
  });

  it('names the unit after the command, and builds systemd-run with RemainAfterExit and output files', () => {
    expect(transientUnitName(ID)).toBe(`xspectre-cmd-${ID}.service`);
    const args = systemdRunArgs({
      commandId: ID,
      action: 'service.restart',
      stdoutPath: `/var/lib/xspectre/commands/output/${ID}.stdout`,
      stderrPath: `/var/lib/xspectre/commands/output/${ID}.stderr`,
      command: ['systemctl', 'restart', '--', 'nginx.service'],
    });
    expect(args).toEqual([
      `--unit=xspectre-cmd-${ID}.service`,
      `--description=xSPECTRE command ${ID} (service.restart)`,
      '--quiet',
      '--property=RemainAfterExit=yes',
      `--property=StandardOutput=file:/var/lib/xspectre/commands/output/${ID}.stdout`,
      `--property=StandardError=file:/var/lib/xspectre/commands/output/${ID}.stderr`,
      '--',
      'systemctl',
      'restart',
      '--',
      'nginx.service',
    ]);
    expect(args).not.toContain('--collect'); // a failed unit must stay loaded until its result is read
    expect(args).not.toContain('--wait');
  });

  it('refuses output paths systemd could misread', () => {
    const spec = { commandId: ID, action: 'reboot', stderrPath: '/x/e', command: ['systemctl', 'reboot'] };
    expect(() => systemdRunArgs({ ...spec, stdoutPath: 'relative/out' })).toThrow(/absolute/);
    expect(() => systemdRunArgs({ ...spec, stdoutPath: '/with space/out' })).toThrow(/absolute/);
  });

  it('asks systemctl show for the result, and cleans up with stop and reset-failed', () => {
    expect(showUnitArgs('u.service')).toEqual([
      'show',
      '--no-pager',
      '-p',
      'LoadState,ActiveState,SubState,Result,ExecMainCode,ExecMainStatus',
      '--',
      'u.service',
    ]);
    expect(cleanupArgs('u.service')).toEqual([
      ['stop', '--', 'u.service'],
      ['reset-failed', '--', 'u.service'],
    ]);
  });
});

const show = (fields: Record<string, string>) =>
  parseUnitShow(
    Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );

describe('unitOutcome', () => {
  it('a finished, successful unit (active/exited thanks to RemainAfterExit)', () => {
    expect(
      unitOutcome(
        show({ LoadState: 'loaded', ActiveState: 'active', SubState: 'exited', Result: 'success', ExecMainCode: '1', ExecMainStatus: '0' }),
      ),
    ).toEqual({ state: 'done', result: { status: 'succeeded', exitCode: 0 } });
  });

  it('a failed unit: its exit status, or 128 + the signal', () => {
    expect(
      unitOutcome(
        show({
          LoadState: 'loaded',
          ActiveState: 'failed',
          SubState: 'failed',
          Result: 'exit-code',
          ExecMainCode: '1',
          ExecMainStatus: '5',
        }),
      ),
    ).toEqual({
      state: 'done',
      result: { status: 'failed', exitCode: 5, reason: 'the transient unit ended: result exit-code, exit status 5' },
    });
    expect(
      unitOutcome(
        show({ LoadState: 'loaded', ActiveState: 'failed', SubState: 'failed', Result: 'signal', ExecMainCode: '2', ExecMainStatus: '9' }),
      ),
    ).toMatchObject({ state: 'done', result: { status: 'failed', exitCode: 137 } });
  });

  it('still running, or gone', () => {
    expect(unitOutcome(show({ LoadState: 'loaded', ActiveState: 'active', SubState: 'running', ExecMainCode: '0' }))).toEqual({
      state: 'running',
    });
    expect(unitOutcome(show({ LoadState: 'loaded', ActiveState: 'activating', SubState: 'start' }))).toEqual({ state: 'running' });
    expect(unitOutcome(show({ LoadState: 'not-found', ActiveState: 'inactive', SubState: 'dead', ExecMainCode: '0' }))).toEqual({
      state: 'gone',
    });
    expect(unitOutcome(show({ LoadState: 'loaded', ActiveState: 'inactive', SubState: 'dead', ExecMainCode: '0' }))).toEqual({
      state: 'gone',
    });
    expect(unitOutcome({})).toEqual({ state: 'gone' });
  });

  it('parses systemctl show output, ignoring other lines', () => {
    expect(parseUnitShow('LoadState=loaded\nActiveState=active\nOther=x\n\ngarbage\nResult=success\n')).toEqual({
      LoadState: 'loaded',
      ActiveState: 'active',
      Result: 'success',
    });
  });
});
