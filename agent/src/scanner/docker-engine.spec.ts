import { describe, expect, it } from 'vitest';
import { CoreContainerSchema } from '@xspectre/contracts';
import {
  coreContainerEntry,
  feedDataImage,
  filesystemUsage,
  oomEventsPath,
  parseCoreInspect,
  parseOomEvents,
  unexplainedOomKill,
} from './docker-engine.js';

const PROJECT = 'greenbone-community-edition';

/** Lines of GET /events as Docker 20.10 writes them (one JSON object per line). */
const EVENTS = [
  {
    status: 'oom',
    id: 'aaa111',
    from: 'registry.community.greenbone.net/community/redis-server',
    Type: 'container',
    Action: 'oom',
    Actor: {
      ID: 'aaa111',
      Attributes: {
        'com.docker.compose.project': PROJECT,
        'com.docker.compose.service': 'redis-server',
        image: 'registry.community.greenbone.net/community/redis-server',
        name: `${PROJECT}-redis-server-1`,
      },
    },
    scope: 'local',
    time: 1764852000,
    timeNano: 1764852000123456000,
  },
  // the `die` that follows an OOM kill: not an OOM event
  {
    status: 'die',
    id: 'aaa111',
    Type: 'container',
    Action: 'die',
    Actor: { ID: 'aaa111', Attributes: { 'com.docker.compose.service': 'redis-server', exitCode: '137' } },
    time: 1764852001,
  },
  // an OOM of a container outside compose (time only, no timeNano)
  { Type: 'container', Action: 'oom', Actor: { ID: 'bbb222', Attributes: { name: 'plain' } }, time: 1764852100 },
];

describe('parseOomEvents', () => {
  it('reads OOM kills with their compose labels and time, skipping other events, blank and malformed lines', () => {
    const body = `${EVENTS.map((e) => JSON.stringify(e)).join('\n')}\n\nnot json\n{"Type":"network","Action":"oom","time":1}\n{"Action":"oom"}\n`;
    expect(parseOomEvents(body)).toEqual([
      { at: new Date(1764852000123), containerId: 'aaa111', project: PROJECT, service: 'redis-server' },
      { at: new Date(1764852100000), containerId: 'bbb222', project: null, service: null },
    ]);
    expect(parseOomEvents('')).toEqual([]);
  });

  it('asks for a closed window of container OOM events, in whole seconds', () => {
    const path = oomEventsPath(new Date('2026-12-04T10:00:00.900Z'), new Date('2026-12-04T10:10:00.100Z'));
    const url = new URL(path, 'http://docker');
    expect(url.pathname).toBe('/events');
    expect(url.searchParams.get('since')).toBe(String(Date.parse('2026-12-04T10:00:00Z') / 1000));
    expect(url.searchParams.get('until')).toBe(String(Date.parse('2026-12-04T10:10:01Z') / 1000));
    expect(JSON.parse(url.searchParams.get('filters')!)).toEqual({ event: ['oom'], type: ['container'] });
  });
});

describe('core container entries', () => {
  it('reads state, image, restarts and start time from an inspect body', () => {
    const inspected = parseCoreInspect(
      {
        Id: 'aaa111',
        Name: `/${PROJECT}-redis-server-1`,
        RestartCount: 3,
        State: {
          Status: 'restarting',
          StartedAt: '2026-12-04T09:58:01.123456789Z',
          OOMKilled: false,
          FinishedAt: '2026-12-04T09:58:00.9Z',
        },
        Config: { Image: 'registry.community.greenbone.net/community/redis-server' },
      },
      'fallback',
    );
    expect(inspected).toEqual({
      name: `${PROJECT}-redis-server-1`,
      image: 'registry.community.greenbone.net/community/redis-server',
      state: 'restarting',
      restartCount: 3,
      startedAt: '2026-12-04T09:58:01.123Z',
      oomKilledAt: null,
    });
    const entry = coreContainerEntry('redis-server', inspected, 12_345_678.4, new Date('2026-12-04T09:58:00Z'));
    expect(CoreContainerSchema.parse(entry)).toEqual({
      service: 'redis-server',
      container: `${PROJECT}-redis-server-1`,
      image: 'registry.community.greenbone.net/community/redis-server',
      state: 'restarting',
      restartCount: 3,
      startedAt: '2026-12-04T09:58:01.123Z',
      lastOomKillAt: '2026-12-04T09:58:00.000Z',
      memoryBytes: 12_345_678,
    });
  });

  it('treats a never-started container, odd values and an empty body safely', () => {
    expect(parseCoreInspect({ State: { Status: 'created', StartedAt: '0001-01-01T00:00:00Z' }, RestartCount: -1 }, 'x')).toEqual({
      name: 'x',
      image: null,
      state: 'created',
      restartCount: 0,
      startedAt: null,
      oomKilledAt: null,
    });
    expect(parseCoreInspect(null, 'y')).toMatchObject({ name: 'y', state: 'unknown', startedAt: null });
    expect(parseCoreInspect({ State: { StartedAt: 'yesterday' } }, 'z').startedAt).toBeNull();
  });

  it("takes an OOM kill from the inspect's State when no event within a minute before it explains it", () => {
    const killed = parseCoreInspect(
      { State: { Status: 'exited', OOMKilled: true, StartedAt: '2026-12-04T09:00:00Z', FinishedAt: '2026-12-04T10:00:00.5Z' } },
      'redis',
    );
    expect(killed.oomKilledAt).toEqual(new Date('2026-12-04T10:00:00.500Z'));
    expect(unexplainedOomKill(killed, null)).toEqual(killed.oomKilledAt);
    expect(unexplainedOomKill(killed, new Date('2026-12-04T09:50:00Z'))).toEqual(killed.oomKilledAt); // an older kill
    expect(unexplainedOomKill(killed, new Date('2026-12-04T10:00:00.100Z'))).toBeNull(); // the event of this kill
    expect(unexplainedOomKill(parseCoreInspect({ State: { OOMKilled: false, FinishedAt: '2026-12-04T10:00:00Z' } }, 'x'), null)).toBeNull();
    expect(parseCoreInspect({ State: { OOMKilled: true, FinishedAt: '0001-01-01T00:00:00Z' } }, 'x').oomKilledAt).toBeNull();
  });

  it('reports a missing service as `missing` and keeps a remembered OOM kill', () => {
    expect(CoreContainerSchema.parse(coreContainerEntry('pg-gvm', null, null, new Date('2026-12-01T00:00:00Z')))).toEqual({
      service: 'pg-gvm',
      container: null,
      image: null,
      state: 'missing',
      restartCount: 0,
      startedAt: null,
      lastOomKillAt: '2026-12-01T00:00:00.000Z',
      memoryBytes: null,
    });
  });
});

describe('feed data images and the data filesystem', () => {
  it('takes the image reference and its Created time', () => {
    expect(
      feedDataImage('registry.community.greenbone.net/community/vulnerability-tests', { Created: '2026-12-03T04:05:06.789Z' }),
    ).toEqual({
      image: 'registry.community.greenbone.net/community/vulnerability-tests',
      createdAt: '2026-12-03T04:05:06.789Z',
    });
    expect(feedDataImage('x', {})).toEqual({ image: 'x', createdAt: null });
    expect(feedDataImage('', {})).toBeNull();
  });

  it('computes used and total bytes from statfs (bigint too)', () => {
    expect(filesystemUsage({ blocks: 1000, bfree: 250, bsize: 4096 })).toEqual({ usedBytes: 750 * 4096, totalBytes: 1000 * 4096 });
    expect(filesystemUsage({ blocks: 10n, bfree: 10n, bsize: 512n })).toEqual({ usedBytes: 0, totalBytes: 5120 });
  });
});
