import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from './request-target.js';

const DEV = '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001';
const ID = 'a'.repeat(64);

describe('parseRequestTarget', () => {
  it('reads the paths restic uses', () => {
    expect(parseRequestTarget(`/${DEV}/`)).toEqual({ ok: true, target: { kind: 'repo', device: DEV, create: false } });
    expect(parseRequestTarget(`/${DEV}/?create=true`)).toEqual({ ok: true, target: { kind: 'repo', device: DEV, create: true } });
    expect(parseRequestTarget(`/${DEV}/config`)).toEqual({ ok: true, target: { kind: 'config', device: DEV } });
    expect(parseRequestTarget(`/${DEV}/snapshots/`)).toEqual({ ok: true, target: { kind: 'list', device: DEV, type: 'snapshots' } });
    expect(parseRequestTarget(`/${DEV}/locks/${ID}`)).toEqual({ ok: true, target: { kind: 'file', device: DEV, type: 'locks', id: ID } });
  });

  it('refuses everything else before it reaches rclone', () => {
    const notFound = [
      '/',
      `/${DEV}`,
      `/${DEV.toUpperCase()}/config`,
      `/${DEV}/../other/config`,
      `/${DEV}/%2e%2e/config`,
      `//${DEV}/config`,
      `/${DEV}//config`,
      `/${DEV}/data/ab/${ID}`,
      `/${DEV}/data/${ID}/`,
      `/${DEV}/data/${ID.slice(1)}`,
      `/${DEV}/other/${ID}`,
      `/${DEV}/config/`,
      `/not-a-device/config`,
    ];
    for (const url of notFound) expect(parseRequestTarget(url), url).toMatchObject({ ok: false, status: 404 });
    for (const url of [undefined, '', `/${DEV}/?create=false`, `/${DEV}/config?x=1`, `/${DEV}/data/?a`, `/${DEV}/${'x'.repeat(300)}`]) {
      expect(parseRequestTarget(url), String(url)).toMatchObject({ ok: false, status: 400 });
    }
  });
});
