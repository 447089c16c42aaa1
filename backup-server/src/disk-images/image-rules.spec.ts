import { describe, expect, it } from 'vitest';
import {
  checkAppend,
  checkCompletion,
  decideImageAccess,
  imagesToDelete,
  parseImageTarget,
  parseRange,
  parseUploadOffset,
} from './image-rules.js';

const D = '0b6a3c1e-4d2f-4a8b-9c7d-1e2f3a4b5c6d';
const U = '11111111-2222-4333-8444-555555555555';

describe('parseImageTarget', () => {
  it('knows the routes', () => {
    expect(parseImageTarget(`/disk-images/${D}/`)).toEqual({ ok: true, target: { kind: 'list', device: D } });
    expect(parseImageTarget(`/disk-images/${D}/uploads`)).toEqual({ ok: true, target: { kind: 'uploads', device: D } });
    expect(parseImageTarget(`/disk-images/${D}/uploads/${U}`)).toEqual({ ok: true, target: { kind: 'upload', device: D, uploadId: U } });
    expect(parseImageTarget(`/disk-images/${D}/uploads/${U}/complete`)).toEqual({
      ok: true,
      target: { kind: 'complete', device: D, uploadId: U },
    });
    expect(parseImageTarget(`/disk-images/${D}/2026-12-05T031500Z.img.zst`)).toEqual({
      ok: true,
      target: { kind: 'image', device: D, imageName: '2026-12-05T031500Z' },
    });
    expect(parseImageTarget(`/disk-images/${D}/2026-12-05T031500Z.metadata.json`)).toMatchObject({
      ok: true,
      target: { kind: 'metadata' },
    });
  });

  it('refuses traversal, encodings, queries, bad names and bad ids with 400', () => {
    for (const url of [
      `/disk-images/${D}/../x`,
      `/disk-images/${D}/%2e%2e/x`,
      `/disk-images/${D}//`,
      `/disk-images/${D}`,
      `/disk-images/${D.toUpperCase()}/`,
      `/disk-images/not-a-device/`,
      `/disk-images/${D}/?x=1`,
      `/disk-images/${D}/2026-13-05T031500Z.img.zst`,
      `/disk-images/${D}/2026-12-05T251500Z.img.zst`,
      `/disk-images/${D}/2026-12-05.img.zst`,
      `/disk-images/${D}/2026-12-05T031500Z.img`,
      `/disk-images/${D}/uploads/${U}/complete/x`,
      `/disk-images/${D}/uploads/${U}x`,
      `/disk-images/${D}/${'a'.repeat(300)}`,
    ]) {
      expect(parseImageTarget(url), url).toMatchObject({ ok: false, status: 400 });
    }
  });
});

describe('decideImageAccess', () => {
  const upload = { kind: 'upload', device: D, uploadId: U } as const;
  const image = { kind: 'image', device: D, imageName: '2026-12-05T031500Z' } as const;
  it('image-append uploads only, image-read reads only', () => {
    expect(decideImageAccess('image-append', 'PATCH', upload)).toEqual({ allowed: true });
    expect(decideImageAccess('image-append', 'HEAD', upload)).toEqual({ allowed: true });
    expect(decideImageAccess('image-read', 'PATCH', upload)).toMatchObject({ allowed: false, status: 403 });
    expect(decideImageAccess('image-read', 'GET', image)).toEqual({ allowed: true });
    expect(decideImageAccess('image-append', 'GET', image)).toMatchObject({ allowed: false, status: 403 });
    expect(decideImageAccess('image-append', 'GET', { kind: 'list', device: D })).toMatchObject({ allowed: false, status: 403 });
  });
  it('nothing deletes or overwrites over HTTP', () => {
    for (const method of ['DELETE', 'PUT', 'POST']) {
      expect(decideImageAccess('image-read', method, image)).toMatchObject({ allowed: false, status: 405 });
      expect(decideImageAccess('image-append', method, image)).toMatchObject({ allowed: false, status: 405 });
    }
    expect(decideImageAccess('image-append', 'DELETE', upload)).toMatchObject({ allowed: false, status: 405 });
  });
});

describe('upload offsets', () => {
  it('parses Upload-Offset strictly', () => {
    expect(parseUploadOffset('0')).toBe(0);
    expect(parseUploadOffset('1048576')).toBe(1048576);
    for (const bad of [undefined, '', '-1', '01', '1.5', ' 1', '1e3', '99999999999999999', ['1', '2']]) {
      expect(parseUploadOffset(bad as string | undefined), String(bad)).toBeUndefined();
    }
  });
  it('appends only where the stored bytes end, within the limit', () => {
    expect(checkAppend(100, 100, 50, 1000)).toEqual({ ok: true });
    expect(checkAppend(100, 100, undefined, 1000)).toEqual({ ok: true });
    expect(checkAppend(100, 0, 50, 1000)).toMatchObject({ ok: false, status: 409 });
    expect(checkAppend(100, 150, 50, 1000)).toMatchObject({ ok: false, status: 409 });
    expect(checkAppend(100, 100, 901, 1000)).toMatchObject({ ok: false, status: 413 });
  });
});

describe('checkCompletion', () => {
  const sha = 'a'.repeat(64);
  it('keeps a truncated upload for resume and discards a longer or different one', () => {
    expect(checkCompletion({ bytes: 10, sha256: sha }, { bytes: 10, sha256: sha })).toEqual({ ok: true });
    expect(checkCompletion({ bytes: 9, sha256: 'b'.repeat(64) }, { bytes: 10, sha256: sha })).toMatchObject({
      ok: false,
      reason: 'truncated',
      keep: true,
    });
    expect(checkCompletion({ bytes: 11, sha256: sha }, { bytes: 10, sha256: sha })).toMatchObject({ reason: 'too_long', keep: false });
    expect(checkCompletion({ bytes: 10, sha256: 'b'.repeat(64) }, { bytes: 10, sha256: sha })).toMatchObject({
      reason: 'hash_mismatch',
      keep: false,
    });
  });
});

describe('imagesToDelete', () => {
  const n = (day: number) => `2026-12-${String(day).padStart(2, '0')}T030000Z`;
  it('keeps the newest N, counting the one just published', () => {
    expect(imagesToDelete([n(1), n(2), n(3), n(4)], 3, n(4))).toEqual([n(1)]);
    expect(imagesToDelete([n(4), n(1), n(3), n(2), n(5)], 2, n(5))).toEqual([n(1), n(2), n(3)]);
    expect(imagesToDelete([n(1), n(2)], 3, n(2))).toEqual([]);
    expect(imagesToDelete([n(1)], 1, n(1))).toEqual([]);
  });
  it('never deletes the one just published, even when its name is the oldest', () => {
    expect(imagesToDelete([n(1), n(2), n(3)], 1, n(1))).toEqual([n(2), n(3)]);
    expect(imagesToDelete([n(1), n(2), n(3)], 2, n(1))).toEqual([n(2)]);
  });
});

describe('parseRange', () => {
  it('serves single byte ranges', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'full' });
  });
});
