import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleConfig } from '../../test/fixtures.js';
import { parseAgentConfig } from '../config.js';
import { composeInstall, discoverGreenbone, parseListedContainers } from './discovery.js';

const PROJECT = 'greenbone-community-edition';

/** An entry of GET /containers/json?all=1 as the engine answers it, trimmed. */
function listed(
  service: string,
  opts: { project?: string; state?: string; mounts?: { Source: string; Destination: string }[]; id?: string } = {},
) {
  const project = opts.project ?? PROJECT;
  return {
    Id: opts.id ?? `${service}-${project}-id`,
    Names: [`/${project}-${service}-1`],
    Image: `registry.community.greenbone.net/community/${service}:stable`,
    State: opts.state ?? 'running',
    Labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': service, 'com.docker.compose.version': '2.29.1' },
    Mounts: opts.mounts ?? [],
  };
}

const GVMD_MOUNTS = [
  {
    Type: 'volume',
    Name: `${PROJECT}_gvmd_data_vol`,
    Source: `/var/lib/docker/volumes/${PROJECT}_gvmd_data_vol/_data`,
    Destination: '/var/lib/gvm',
  },
  {
    Type: 'volume',
    Name: `${PROJECT}_gvmd_socket_vol`,
    Source: `/var/lib/docker/volumes/${PROJECT}_gvmd_socket_vol/_data`,
    Destination: '/run/gvmd',
  },
];

describe('composeInstall', () => {
  it('finds gvmd by its compose labels, its socket through the /run/gvmd mount, and the core containers of its project', () => {
    const found = composeInstall(
      parseListedContainers([
        listed('gvmd', { mounts: GVMD_MOUNTS }),
        listed('ospd-openvas'),
        listed('redis-server'),
        listed('pg-gvm'),
        listed('gsa'),
        listed('vulnerability-tests', { state: 'exited' }),
        listed('redis-server', { project: 'other' }),
        { Id: 'plain', Names: ['/nginx'], Image: 'nginx', State: 'running' },
      ]),
    );
    expect(found).not.toBeNull();
    expect(found!.method).toBe('compose');
    expect(found!.composeProject).toBe(PROJECT);
    expect(found!.gvmd).toBe(`${PROJECT}-gvmd-1`);
    expect(found!.gvmdContainerId).toBe(`gvmd-${PROJECT}-id`);
    expect(found!.socketPath).toBe(`/var/lib/docker/volumes/${PROJECT}_gvmd_socket_vol/_data/gvmd.sock`);
    expect([...found!.coreContainers.keys()].sort()).toEqual(['gvmd', 'ospd-openvas', 'pg-gvm', 'redis-server']);
    expect(found!.coreContainers.get('redis-server')).toEqual({ id: `redis-server-${PROJECT}-id`, name: `${PROJECT}-redis-server-1` });
  });

  it('takes a bind-mounted /run/gvmd (trailing slash too) and prefers a running gvmd over a stopped one', () => {
    const found = composeInstall(
      parseListedContainers([
        listed('gvmd', { project: 'old', state: 'exited', mounts: [{ Source: '/srv/old', Destination: '/run/gvmd' }] }),
        listed('gvmd', { project: 'new', mounts: [{ Source: '/srv/gvmd-run', Destination: '/run/gvmd/' }] }),
        listed('ospd-openvas', { project: 'old' }),
        listed('openvasd', { project: 'new' }),
      ]),
    );
    expect(found!.composeProject).toBe('new');
    expect(found!.socketPath).toBe('/srv/gvmd-run/gvmd.sock');
    expect([...found!.coreContainers.keys()].sort()).toEqual(['gvmd', 'openvasd']);
  });

  it('ignores a gvmd-labelled container without a /run/gvmd mount, and answers null without gvmd', () => {
    expect(composeInstall(parseListedContainers([listed('gvmd', { mounts: [{ Source: '/x', Destination: '/var/lib/gvm' }] })]))).toBeNull();
    expect(composeInstall(parseListedContainers([listed('ospd-openvas'), listed('redis-server')]))).toBeNull();
    expect(composeInstall([])).toBeNull();
  });

  it('refuses a list that is not an array and skips malformed entries', () => {
    expect(() => parseListedContainers({ message: 'nope' })).toThrow(/array/);
    expect(parseListedContainers([null, 3, { Names: ['/x'] }, { Id: 'a', Labels: { x: 1 }, Mounts: [{ Source: 1 }] }])).toEqual([
      { id: 'a', name: 'a', image: '', imageId: null, state: 'unknown', labels: {}, mounts: [] },
    ]);
  });
});

describe('discoverGreenbone fallbacks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-discovery-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without Docker: an active gvmd.service, then the configured socket, then null', async () => {
    const noDocker = join(dir, 'no-docker.sock');
    const calls: string[][] = [];
    const active = async (args: string[]) => {
      calls.push(args);
      return 'active\n';
    };
    const inactive = async () => {
      throw new Error('Command failed: systemctl is-active gvmd.service (exit 3)');
    };
    const systemd = await discoverGreenbone({ dockerSocket: noDocker, configuredSocket: '/opt/gvm/gvmd.sock', systemctl: active });
    expect(systemd).toMatchObject({ method: 'systemd', gvmd: 'gvmd.service', socketPath: '/run/gvmd/gvmd.sock', composeProject: null });
    expect(calls).toEqual([['is-active', 'gvmd.service']]);

    const configured = await discoverGreenbone({ dockerSocket: noDocker, configuredSocket: '/opt/gvm/gvmd.sock', systemctl: inactive });
    expect(configured).toMatchObject({ method: 'configured', gvmd: null, socketPath: '/opt/gvm/gvmd.sock' });
    expect(configured!.coreContainers.size).toBe(0);

    expect(await discoverGreenbone({ dockerSocket: noDocker, systemctl: inactive })).toBeNull();
    expect(await discoverGreenbone({ dockerSocket: noDocker, configuredSocket: '  ', systemctl: async () => 'inactive' })).toBeNull();
  });
});

describe('gmpSocketPath in the agent config', () => {
  const withSocket = (gmpSocketPath: unknown) => JSON.stringify({ ...sampleConfig(), gmpSocketPath });

  it('is optional and must be an absolute path', () => {
    expect(parseAgentConfig(JSON.stringify(sampleConfig()), 'agent.conf').gmpSocketPath).toBeUndefined();
    expect(parseAgentConfig(withSocket('/opt/gvm/run/gvmd.sock'), 'agent.conf').gmpSocketPath).toBe('/opt/gvm/run/gvmd.sock');
    for (const bad of ['run/gvmd.sock', '', 42, '/run/gvmd\u0000.sock'])
      expect(() => parseAgentConfig(withSocket(bad), 'agent.conf')).toThrow(/gmpSocketPath/);
  });
});
