import { describe, expect, it } from 'vitest';
import { demuxDockerStream, parsePullStream, splitImageReference } from './action-docker.js';
import { recreateBody } from './action-feed-update.js';
import { scrub } from './gvmd-cli.js';

const frame = (type: number, text: string) => {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('the exec stream', () => {
  it('splits stdout and stderr frames, keeping multi-byte characters whole across frames', () => {
    const euro = Buffer.from('€', 'utf8');
    const split = Buffer.concat([
      frame(1, 'User created'),
      frame(2, 'warn: '),
      // one character split over two stdout frames
      (() => {
        const h = Buffer.alloc(8);
        h[0] = 1;
        h.writeUInt32BE(1, 4);
        return Buffer.concat([h, euro.subarray(0, 1)]);
      })(),
      (() => {
        const h = Buffer.alloc(8);
        h[0] = 1;
        h.writeUInt32BE(2, 4);
        return Buffer.concat([h, euro.subarray(1)]);
      })(),
      frame(2, 'x'),
      frame(0, 'stdin is dropped'),
      frame(7, 'unknown is dropped'),
    ]);
    const out = demuxDockerStream(split);
    expect(out.stdout.toString('utf8')).toBe('User created€');
    expect(out.stderr.toString('utf8')).toBe('warn: x');
    expect(out.rest).toBe(0);
  });

  it('counts a cut last frame and a cut header as rest, never as output', () => {
    const whole = frame(1, 'abc');
    const cut = frame(2, 'hello').subarray(0, 10);
    expect(demuxDockerStream(Buffer.concat([whole, cut]))).toMatchObject({ rest: 10 });
    expect(demuxDockerStream(Buffer.concat([whole, cut])).stderr.length).toBe(0);
    expect(demuxDockerStream(Buffer.from([1, 0, 0]))).toMatchObject({ rest: 3 });
    expect(demuxDockerStream(Buffer.alloc(0))).toEqual({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), rest: 0 });
  });
});

describe('the pull stream', () => {
  it('is a success without an error line', () => {
    const lines = [
      '{"status":"Pulling from community/vulnerability-tests","id":"latest"}',
      '{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"abc"}',
      '{"status":"Status: Downloaded newer image for x:latest"}',
    ];
    expect(parsePullStream(lines.join('\r\n'))).toEqual({ ok: true });
    expect(parsePullStream('')).toEqual({ ok: true });
  });

  it('is a failure with the last error line, whatever the HTTP status said', () => {
    const text = [
      '{"status":"Pulling from community/notus-data"}',
      'garbage that is not JSON',
      '{"errorDetail":{"message":"Get \\"https://registry.community.greenbone.net/v2/\\": dial tcp: lookup registry.community.greenbone.net: no such host"},"error":"Get \\"https://registry.community.greenbone.net/v2/\\": dial tcp: lookup registry.community.greenbone.net: no such host"}',
    ].join('\n');
    const outcome = parsePullStream(text);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok === false && outcome.error).toMatch(/no such host/);
    expect(parsePullStream('{"errorDetail":{"message":"manifest unknown"}}')).toEqual({ ok: false, error: 'manifest unknown' });
  });

  it('splits image references into repository and tag', () => {
    expect(splitImageReference('registry.community.greenbone.net/community/gvmd:stable')).toEqual({
      fromImage: 'registry.community.greenbone.net/community/gvmd',
      tag: 'stable',
    });
    expect(splitImageReference('registry.example:5000/community/notus-data')).toEqual({
      fromImage: 'registry.example:5000/community/notus-data',
      tag: 'latest',
    });
    expect(splitImageReference('x/y@sha256:abc')).toEqual({ fromImage: 'x/y', tag: 'sha256:abc' });
  });
});

describe('recreateBody', () => {
  it('keeps config, labels, binds and the network alias; drops the engine-made hostname', () => {
    const inspected = {
      Id: '0123456789abcdef0123',
      Config: {
        Hostname: '0123456789ab',
        Image: 'old',
        Labels: { 'com.docker.compose.service': 'notus-data' },
        Cmd: ['/bin/sh', '-c', 'x'],
      },
      HostConfig: { Binds: ['vt_data_vol:/mnt'], NetworkMode: 'greenbone_default', RestartPolicy: { Name: 'on-failure' } },
      NetworkSettings: { Networks: { greenbone_default: { Aliases: ['notus-data', '0123456789ab'] }, other: { Aliases: null } } },
    };
    const { body, otherNetworks } = recreateBody(inspected, 'registry/notus-data:latest');
    expect(body).toEqual({
      Image: 'registry/notus-data:latest',
      Labels: { 'com.docker.compose.service': 'notus-data' },
      Cmd: ['/bin/sh', '-c', 'x'],
      HostConfig: inspected.HostConfig,
      NetworkingConfig: { EndpointsConfig: { greenbone_default: { Aliases: ['notus-data'] } } },
    });
    expect(otherNetworks).toEqual([['other', {}]]);
    const none = recreateBody({ ...inspected, HostConfig: { NetworkMode: 'none' } }, 'i');
    expect(none.body.NetworkingConfig).toBeUndefined();
    expect(none.otherNetworks).toEqual([]);
  });
});

describe('scrub', () => {
  it('removes the secrets it is given and any password gvmd printed, on one bounded line', () => {
    expect(scrub("User created with password 'k3y-ab'.\nnext line", [])).toBe("User created with password '[redacted]'. next line");
    expect(scrub('failed --new-password=S3cret! for S3cret!', ['S3cret!'])).toBe('failed --new-password=[redacted] for [redacted]');
    expect(scrub('x'.repeat(1000), [], 50)).toHaveLength(50);
  });
});
