import { describe, expect, it } from 'vitest';
import { ServiceStateSchema } from '@xspectre/contracts';
import { jsonLogger } from '../log.js';
import { parseListUnits, parseShow, parseSystemdTimestamp, selectUnits, serviceStates } from './services-parsers.js';
import { defaultWatchUnits, ServicesCollector } from './services.js';

const LIST_UNITS = JSON.stringify([
  { unit: 'nginx.service', load: 'loaded', active: 'active', sub: 'running', description: 'A high performance web server' },
  { unit: 'backup.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'Nightly backup' },
  { unit: 'dev-sda1.device', load: 'loaded', active: 'active', sub: 'plugged', description: 'QEMU_HARDDISK 1' },
  { unit: 'ssh.service', load: 'loaded', active: 'active', sub: 'running', description: 'OpenBSD Secure Shell server' },
  { unit: 'broken', active: 3 },
]);

const SHOW = `Id=nginx.service
ActiveState=active
SubState=running
ActiveEnterTimestamp=@1763916000
StateChangeTimestamp=@1763916000

Id=postgresql.service
ActiveState=inactive
SubState=dead
ActiveEnterTimestamp=
StateChangeTimestamp=

Id=backup.service
ActiveState=failed
SubState=failed
ActiveEnterTimestamp=Mon 2026-11-23 02:00:01 UTC
StateChangeTimestamp=Mon 2026-11-23 02:14:59 UTC
`;

describe('services parsers', () => {
  it('parses list-units JSON and selects the watch list plus failed units', () => {
    const listing = parseListUnits(LIST_UNITS);
    expect(listing).toHaveLength(4);
    expect(selectUnits(listing, ['nginx.service', 'postgresql.service'])).toEqual([
      { unit: 'nginx.service', watched: true },
      { unit: 'postgresql.service', watched: true },
      { unit: 'backup.service', watched: false },
    ]);
    expect(selectUnits(listing, ['backup.service'])).toEqual([{ unit: 'backup.service', watched: true }]);
    expect(() => parseListUnits('{}')).toThrow(/array/);
  });

  it('parses show output and timestamps', () => {
    const show = parseShow(SHOW);
    expect(show).toHaveLength(3);
    expect(parseSystemdTimestamp('@1763916000')).toBe('2025-11-23T16:40:00.000Z');
    expect(parseSystemdTimestamp('Mon 2026-11-23 02:14:59 UTC')).toBe('2026-11-23T02:14:59.000Z');
    expect(parseSystemdTimestamp('')).toBeNull();
    expect(parseSystemdTimestamp('@0')).toBeNull();
    expect(parseSystemdTimestamp('Mon 2026-11-23 02:14:59 CET')).toBeNull();
    const states = serviceStates(
      [
        { unit: 'nginx.service', watched: true },
        { unit: 'postgresql.service', watched: true },
        { unit: 'backup.service', watched: false },
      ],
      show,
    );
    expect(states).toEqual([
      { unit: 'nginx.service', activeState: 'active', subState: 'running', since: '2025-11-23T16:40:00.000Z', watched: true },
      { unit: 'postgresql.service', activeState: 'inactive', subState: 'dead', since: null, watched: true },
      { unit: 'backup.service', activeState: 'failed', subState: 'failed', since: '2026-11-23T02:14:59.000Z', watched: false },
    ]);
    for (const s of states) expect(ServiceStateSchema.safeParse(s).success).toBe(true);
  });
});

describe('ServicesCollector', () => {
  const logger = () => {
    const lines: string[] = [];
    return { lines, log: jsonLogger((l) => lines.push(l)) };
  };

  it('queries systemctl with argument arrays', async () => {
    const calls: string[][] = [];
    const { log } = logger();
    const collector = new ServicesCollector(['nginx.service', 'postgresql.service'], log, {
      systemdRunning: () => Promise.resolve(true),
      systemctl: (args) => {
        calls.push(args);
        return Promise.resolve(args[0] === 'list-units' ? LIST_UNITS : SHOW);
      },
    });
    const states = await collector.collect();
    expect(states.map((s) => [s.unit, s.activeState, s.watched])).toEqual([
      ['nginx.service', 'active', true],
      ['postgresql.service', 'inactive', true],
      ['backup.service', 'failed', false],
    ]);
    expect(calls[1]?.slice(-3)).toEqual(['nginx.service', 'postgresql.service', 'backup.service']);
  });

  it('the default watch list (onlyLoaded) skips units systemd does not know, an explicit one reports them', async () => {
    const calls: string[][] = [];
    const { log } = logger();
    const sources = {
      systemdRunning: () => Promise.resolve(true),
      systemctl: (args: string[]) => {
        calls.push(args);
        return Promise.resolve(args[0] === 'list-units' ? LIST_UNITS : SHOW);
      },
    };
    const defaults = defaultWatchUnits({ docker: true, scanner: true });
    expect(defaults).toEqual([
      'xspectre-agent.service',
      'wg-quick@wg0.service',
      'ssh.service',
      'docker.service',
      'gvmd.service',
      'ospd-openvas.service',
      'gsad.service',
    ]);
    await new ServicesCollector(defaults, log, sources, { onlyLoaded: true }).collect();
    expect(calls[1]?.slice(-2)).toEqual(['ssh.service', 'backup.service']);
    await new ServicesCollector(['gvmd.service'], log, sources).collect();
    expect(calls[3]?.slice(-2)).toEqual(['gvmd.service', 'backup.service']);
  });

  it('returns [] without systemd and says so once', async () => {
    const { lines, log } = logger();
    const collector = new ServicesCollector(['nginx.service'], log, {
      systemdRunning: () => Promise.resolve(false),
      systemctl: () => Promise.reject(new Error('must not be called')),
    });
    expect(await collector.collect()).toEqual([]);
    expect(await collector.collect()).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('not running');
  });

  it('returns [] when systemctl is missing', async () => {
    const { lines, log } = logger();
    const missing = Object.assign(new Error('spawn systemctl ENOENT'), { code: 'ENOENT' });
    const collector = new ServicesCollector([], log, {
      systemdRunning: () => Promise.resolve(true),
      systemctl: () => Promise.reject(missing),
    });
    expect(await collector.collect()).toEqual([]);
    expect(lines[0]).toContain('not installed');
  });

  it('on this host: a valid list (empty when systemd does not run)', async () => {
    const { log } = logger();
    const states = await new ServicesCollector([], log).collect();
    for (const s of states) expect(ServiceStateSchema.safeParse(s).success).toBe(true);
  });
});
