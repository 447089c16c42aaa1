import { describe, expect, it } from 'vitest';
import type { JournalEntry } from './command-journal.js';
import { CommandExecutor, type ExecutorHost } from './executor.js';
import { ScannerActions, type ScannerActionsOptions } from './scanner-actions.js';

const entry = (action: string, params: Record<string, unknown> = {}): JournalEntry =>
  ({
    v: 1,
    commandId: '00000000-0000-4000-8000-000000000001',
    action,
    params,
    nonce: 'n',
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    startedAt: new Date().toISOString(),
    bootMarker: '',
    unit: null,
  }) as unknown as JournalEntry;
const signal = new AbortController().signal;

function actions(overrides: Partial<ScannerActionsOptions> = {}) {
  const posts: string[] = [];
  const scanner = new ScannerActions({
    dockerSocket: '/nonexistent/docker.sock',
    stateDir: '/nonexistent/state',
    discover: async () => null,
    dockerPost: async (path) => {
      posts.push(path);
      return { status: 204, body: '' };
    },
    log: { info: () => undefined, warn: () => undefined },
    ...overrides,
  });
  return { scanner, posts };
}

describe('scanner actions in the executor', () => {
  const host = {} as ExecutorHost; // scanner actions never reach the host's systemd or process runner

  it('are unsupported without the scanner module, and refresh without a running integration', async () => {
    const bare = new CommandExecutor(host, { outputDir: '/tmp/x', dockerSocket: '/x' });
    expect(await bare.unsupported('scanner.restart')).toBe('scanner actions are not set up in this agent');
    const { scanner } = actions({ integrator: () => null });
    const executor = new CommandExecutor(host, { outputDir: '/tmp/x', dockerSocket: '/x', scanner });
    expect(await executor.unsupported('scanner.refresh')).toBe('the scanner integration is not running in this agent');
    expect(await executor.unsupported('scanner.restart')).toBeNull();
    expect(executor.unitFor('00000000-0000-4000-8000-000000000001', 'scanner.feed-update')).toBeNull();
  });

  it('refresh asks the integration for a poll and succeeds at once; after a restart reads run again, changes are interrupted', async () => {
    let refreshes = 0;
    const { scanner } = actions({ integrator: () => ({ refreshNow: () => void refreshes++ }) });
    const executor = new CommandExecutor(host, { outputDir: '/tmp/x', dockerSocket: '/x', scanner });
    expect(await executor.run(entry('scanner.refresh'), signal)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    await new Promise((r) => setImmediate(r));
    expect(refreshes).toBe(1);
    expect(await executor.resume(entry('scanner.refresh'), signal)).toMatchObject({ status: 'succeeded' });
    expect(await executor.resume(entry('scanner.feed-update', { pruneOldImages: true }), signal)).toEqual({
      status: 'interrupted',
      reason: 'the agent stopped during scanner.feed-update; its outcome is unknown',
    });
  });

  it('refuses bad params before touching anything', async () => {
    const { scanner, posts } = actions();
    const bad: Array<[string, Record<string, unknown>]> = [
      ['scanner.restart', { service: 'pg-gvm' }],
      ['scanner.restart', {}],
      ['scanner.feed-update', { pruneOldImages: 'yes' }],
      ['scanner.feed-update', { pruneOldImages: true, extra: 1 }],
      ['scanner.report-summary', { reportId: 'not-a-uuid' }],
      ['scanner.report-summary', { reportId: '11111111-2222-4333-8444-555555555555', maxFindings: 500 }],
    ];
    for (const [action, params] of bad) {
      const result = await scanner.run(entry(action, params), signal);
      expect(result, `${action} ${JSON.stringify(params)}`).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(/^params do not match/),
      });
    }
    expect(posts).toEqual([]);
  });

  it('says so when no Greenbone install is found', async () => {
    const { scanner } = actions();
    for (const [action, params] of [
      ['scanner.restart', { service: 'gvmd' }],
      ['scanner.feed-update', {}],
      ['scanner.provision-monitor', {}],
      ['scanner.report-summary', { reportId: '11111111-2222-4333-8444-555555555555' }],
    ] as const) {
      expect(await scanner.run(entry(action, params), signal)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(/^no Greenbone install found on this device/),
      });
    }
  });

  it('restarts containers only for compose installs, by the discovered id', async () => {
    const systemd = actions({
      discover: async () => ({
        method: 'systemd',
        composeProject: null,
        gvmd: 'gvmd.service',
        gvmdContainerId: null,
        socketPath: '/run/gvmd/gvmd.sock',
        coreContainers: new Map(),
      }),
    });
    expect(await systemd.scanner.run(entry('scanner.restart', { service: 'gvmd' }), signal)).toMatchObject({
      status: 'failed',
      reason: 'gvmd runs as a systemd unit: scanner.restart restarts containers only',
    });
    const compose = actions({
      discover: async () => ({
        method: 'compose',
        composeProject: 'gce',
        gvmd: 'gce-gvmd-1',
        gvmdContainerId: 'abc',
        socketPath: '/x/gvmd.sock',
        coreContainers: new Map([['ospd-openvas', { id: 'f00d', name: 'gce-ospd-openvas-1' }]]),
      }),
    });
    expect(await compose.scanner.run(entry('scanner.restart', { service: 'ospd-openvas' }), signal)).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: 'container gce-ospd-openvas-1 restarted\n',
    });
    expect(compose.posts).toEqual(['/containers/f00d/restart']);
  });
});
