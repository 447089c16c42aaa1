import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { expect, it } from 'vitest';
import type { ContextGetter } from '../support/remote-access-context.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface AuditRow {
  action: string;
  result: string;
  resourceId: string | null;
  details: Record<string, unknown>;
}

/**
 * The file manager end to end: the API's SFTP session (root through sudo) to a lab device over
 * WireGuard. Each case makes its own paths under /root or /tmp, and checks what it changed in the
 * container itself (docker exec), not only what the API answers.
 */
export function filesCases(get: ContextGetter): void {
  const files = (suffix = '') => `devices/${get().device.id}/files${suffix}`;
  const url = (suffix: string) => `${get().ra.api.baseUrl}/api/v1/${files(suffix)}`;
  const sh = async (script: string) => (await get().device.container.exec('sh', ['-c', script])).stdout.trim();
  const exists = async (path: string) => (await get().device.container.exec('test', ['-e', path])).exitCode === 0;

  const upload = (path: string, data: Buffer, options: { overwrite?: boolean; token?: string } = {}) =>
    fetch(url(`/upload?path=${encodeURIComponent(path)}&overwrite=${options.overwrite ? 'true' : 'false'}`), {
      method: 'PUT',
      headers: { authorization: `Bearer ${options.token ?? get().ra.admin}`, 'content-type': 'application/octet-stream' },
      body: data,
    });
  const download = (path: string) =>
    fetch(url(`/download?path=${encodeURIComponent(path)}`), { headers: { authorization: `Bearer ${get().ra.admin}` } });
  const auditRows = async (action: string): Promise<AuditRow[]> => {
    const r = await get().ra.api.request('GET', `audit?action=${action}&resourceId=${get().device.id}&limit=50`, { token: get().ra.admin });
    expect(r.status).toBe(200);
    return r.body.items as AuditRow[];
  };

  it('lists /etc: directories first, sorted by name, pages consistent with the whole', async () => {
    const { ra } = get();
    const all = await ra.api.request('GET', `${files()}?path=/etc&limit=500`, { token: ra.admin });
    expect(all.status, all.text).toBe(200);
    const items = all.body.items as Array<{ name: string; type: string; owner: string | null }>;
    expect(all.body.total).toBe(items.length);
    expect(all.body.directoriesFirst).toBe(true);
    const firstFile = items.findIndex((e) => e.type !== 'directory');
    expect(items.slice(firstFile).some((e) => e.type === 'directory')).toBe(false);
    const dirs = items.slice(0, firstFile).map((e) => e.name);
    expect(dirs).toEqual([...dirs].sort());
    expect(items.find((e) => e.name === 'passwd')).toMatchObject({ type: 'file', owner: 'root', group: 'root' });
    const expected = (await sh('ls -A /etc')).split('\n').sort();
    expect(items.map((e) => e.name).sort()).toEqual(expected);

    const paged: string[] = [];
    for (let offset = 0; offset < all.body.total; offset += 7) {
      const page = await ra.api.request('GET', `${files()}?path=/etc&limit=7&offset=${offset}`, { token: ra.admin });
      expect(page.status).toBe(200);
      paged.push(...(page.body.items as Array<{ name: string }>).map((e) => e.name));
    }
    expect(paged).toEqual(items.map((e) => e.name));

    const bySize = await ra.api.request('GET', `${files()}?path=/etc&sort=size&order=desc&limit=500`, { token: ra.admin });
    const sizes = (bySize.body.items as Array<{ type: string; size: number }>).filter((e) => e.type !== 'directory').map((e) => e.size);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
  });

  it('uploads 5 MiB into root-owned /root and downloads it back byte-identical, both audited with the same SHA-256', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    await get().device.container.exec('rm', ['-f', '/root/x.bin']);
    const up = await upload('/root/x.bin', data);
    expect(up.status, await up.clone().text()).toBe(200);
    const result = (await up.json()) as { bytes: number; sha256: string; entry: { size: number; uid: number } };
    expect(result).toMatchObject({ bytes: data.length, sha256: sha256(data), entry: { size: data.length, uid: 0 } });
    expect(await sh('stat -c %U /root/x.bin')).toBe('root');
    expect(await sh('sha256sum /root/x.bin | cut -d" " -f1')).toBe(sha256(data));
    expect(await sh('ls -A /root | grep xspectre-upload || true')).toBe('');

    const down = await download('/root/x.bin');
    expect(down.status).toBe(200);
    expect(down.headers.get('content-type')).toBe('application/octet-stream');
    expect(down.headers.get('content-length')).toBe(String(data.length));
    expect(down.headers.get('content-disposition')).toContain("filename*=UTF-8''x.bin");
    const back = Buffer.from(await down.arrayBuffer());
    expect(back.equals(data)).toBe(true);

    const uploaded = (await auditRows('files.upload')).find((r) => r.details.path === '/root/x.bin' && r.result === 'success');
    expect(uploaded?.details).toMatchObject({ bytes: data.length, sha256: sha256(data) });
    // The download's row is written when the response has finished.
    let downloaded: AuditRow | undefined;
    for (let i = 0; i < 50 && !downloaded; i++) {
      downloaded = (await auditRows('files.download')).find((r) => r.details.path === '/root/x.bin');
      if (!downloaded) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(downloaded).toMatchObject({ result: 'success', details: { bytes: data.length, sha256: sha256(data) } });
  });

  it('refuses to overwrite an existing file unless asked (409), and overwrites when asked', async () => {
    await sh('printf old > /root/keep.txt');
    const refused = await upload('/root/keep.txt', Buffer.from('new'));
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('REMOTE_FILE_EXISTS');
    expect(await sh('cat /root/keep.txt')).toBe('old');
    const replaced = await upload('/root/keep.txt', Buffer.from('new'), { overwrite: true });
    expect(replaced.status).toBe(200);
    expect(await sh('cat /root/keep.txt')).toBe('new');
    expect(await sh('ls -A /root | grep xspectre-upload || true')).toBe('');
  });

  it('mkdir, rename, chmod and delete with confirmation, each audited with its path', async () => {
    const { ra } = get();
    await sh('rm -rf /tmp/fm-a /tmp/fm-b');
    const mkdir = await ra.api.request('POST', files('/mkdir'), { token: ra.admin, body: { path: '/tmp/fm-a', mode: 0o750 } });
    expect(mkdir.status, mkdir.text).toBe(200);
    expect(mkdir.body.entry).toMatchObject({ type: 'directory', mode: 0o750 });
    const again = await ra.api.request('POST', files('/mkdir'), { token: ra.admin, body: { path: '/tmp/fm-a' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('REMOTE_FILE_EXISTS');

    await sh('printf hello > /tmp/fm-a/f.txt');
    const rename = await ra.api.request('POST', files('/rename'), { token: ra.admin, body: { from: '/tmp/fm-a', to: '/tmp/fm-b' } });
    expect(rename.status, rename.text).toBe(200);
    expect(await exists('/tmp/fm-a')).toBe(false);
    expect(await sh('cat /tmp/fm-b/f.txt')).toBe('hello');

    const chmod = await ra.api.request('POST', files('/chmod'), { token: ra.admin, body: { path: '/tmp/fm-b/f.txt', mode: 0o600 } });
    expect(chmod.status, chmod.text).toBe(200);
    const stat = await ra.api.request('GET', `${files('/stat')}?path=/tmp/fm-b/f.txt`, { token: ra.admin });
    expect(stat.body).toMatchObject({ type: 'file', mode: 0o600, size: 5 });
    expect(await sh('stat -c %a /tmp/fm-b/f.txt')).toBe('600');

    const notEmpty = await ra.api.request('POST', files('/delete'), { token: ra.admin, body: { path: '/tmp/fm-b', confirm: '/tmp/fm-b' } });
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.body.code).toBe('REMOTE_FILE_NOT_EMPTY');
    const deleted = await ra.api.request('POST', files('/delete'), {
      token: ra.admin,
      body: { path: '/tmp/fm-b', confirm: '/tmp/fm-b', recursive: true },
    });
    expect(deleted.status, deleted.text).toBe(200);
    expect(await exists('/tmp/fm-b')).toBe(false);

    for (const [action, path] of [
      ['files.mkdir', '/tmp/fm-a'],
      ['files.rename', '/tmp/fm-a'],
      ['files.chmod', '/tmp/fm-b/f.txt'],
      ['files.delete', '/tmp/fm-b'],
    ] as const)
      expect(
        (await auditRows(action)).some((r) => r.result === 'success' && r.details.path === path),
        action,
      ).toBe(true);
  });

  it('a wrong confirmation is 422 and the file stays', async () => {
    const { ra } = get();
    await sh('printf x > /tmp/fm-keep');
    const r = await ra.api.request('POST', files('/delete'), { token: ra.admin, body: { path: '/tmp/fm-keep', confirm: '/tmp/fm-kee' } });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('REMOTE_FILE_CONFIRMATION_MISMATCH');
    expect(r.body.detail).toContain('confirm must repeat the path');
    expect(await exists('/tmp/fm-keep')).toBe(true);
  });

  it('names with ../, NUL or a newline are 400 naming the rule, and nothing changes on the device', async () => {
    const { ra } = get();
    await sh('rm -rf /tmp/fm-evil; mkdir -p /tmp/fm-evil');
    const before = await sh('ls -A /tmp /tmp/fm-evil /root');
    const cases: Array<[string, string]> = [
      ['/tmp/fm-evil/../../etc/cron.d/x', '".."'],
      ['/tmp/fm-evil/a\u0000b', 'NUL'],
      ['/tmp/fm-evil/a\nb', 'newlines'],
    ];
    for (const [path, rule] of cases) {
      const mk = await ra.api.request('POST', files('/mkdir'), { token: ra.admin, body: { path } });
      expect(mk.status, JSON.stringify(path)).toBe(400);
      expect(mk.body.detail).toContain(rule);
      const up = await upload(path, Buffer.from('x'));
      expect(up.status, JSON.stringify(path)).toBe(400);
      expect(((await up.json()) as { detail: string }).detail).toContain(rule);
      const list = await ra.api.request('GET', `${files()}?path=${encodeURIComponent(path)}`, { token: ra.admin });
      expect(list.status).toBe(400);
    }
    // Percent-encoded NUL straight in the query string.
    const raw = await fetch(url('/stat?path=/tmp/fm-evil/a%00b'), { headers: { authorization: `Bearer ${ra.admin}` } });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { detail: string }).detail).toContain('NUL');
    expect(await sh('ls -A /tmp /tmp/fm-evil /root')).toBe(before);
  });

  it('a missing path is 404', async () => {
    const { ra } = get();
    const r = await ra.api.request('GET', `${files('/stat')}?path=/tmp/fm-does-not-exist`, { token: ra.admin });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('REMOTE_FILE_NOT_FOUND');
    expect(r.body.detail).toContain('/tmp/fm-does-not-exist');
    const d = await download('/tmp/fm-does-not-exist');
    expect(d.status).toBe(404);
  });

  it('Read-Only is refused (403); a SOC operator lists a customer device', async () => {
    const { ra } = get();
    const reader = await ra.api.createUser(ra.admin, 'read_only');
    const readOnly = await ra.api.request('GET', `${files()}?path=/etc`, { token: await ra.api.tokenFor(reader.email) });
    expect(readOnly.status).toBe(403);
    const refusedUpload = await upload('/tmp/fm-ro', Buffer.from('x'), { token: await ra.api.tokenFor(reader.email) });
    expect(refusedUpload.status).toBe(403);
    expect(await exists('/tmp/fm-ro')).toBe(false);

    const soc = await ra.api.createUser(ra.admin, 'soc_operator');
    const listed = await ra.api.request('GET', `${files()}?path=/etc&limit=5`, { token: await ra.api.tokenFor(soc.email) });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.length).toBe(5);
  });

  it("logging out ends the operator's running download and closes the file session", async () => {
    const { ra, device } = get();
    await sh('head -c 200000000 /dev/zero > /tmp/fm-big.bin');
    const soc = await ra.api.createUser(ra.admin, 'soc_operator');
    const token = await ra.api.tokenFor(soc.email);
    const response = await fetch(url(`/download?path=${encodeURIComponent('/tmp/fm-big.bin')}`), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0;
    const logout = await ra.api.request('POST', 'auth/logout', { token });
    expect(logout.status).toBe(200);
    // Read on slowly: the stream must fail (cut off) before the whole 200 MB has arrived.
    const outcome = await (async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return 'complete';
        received += chunk.value.length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })().catch(() => 'cut off');
    expect(outcome).toBe('cut off');
    expect(received).toBeLessThan(200_000_000);
    // The session's end is recorded once its connection has closed.
    let endReason: string | null = null;
    for (let i = 0; i < 50 && !endReason; i++) {
      const sessions = await ra.api.request('GET', `remote-sessions?deviceId=${device.id}&userId=${soc.id}&kind=files`, {
        token: ra.admin,
      });
      expect(sessions.status, sessions.text).toBe(200);
      endReason = (sessions.body.items as Array<{ endReason: string | null }>)[0]?.endReason ?? null;
      if (!endReason) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(endReason).toBe('access_revoked');
    await sh('rm -f /tmp/fm-big.bin');
  });

  it('an upload cut off mid-body leaves neither a temporary file nor the target', async () => {
    const { ra } = get();
    await sh('rm -f /root/cut.bin');
    const target = new URL(url(`/upload?path=${encodeURIComponent('/root/cut.bin')}`));
    await new Promise<void>((resolve) => {
      const req = httpRequest(target, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${ra.admin}`,
          'content-type': 'application/octet-stream',
          'content-length': String(8 * 1024 * 1024),
        },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(randomBytes(1024 * 1024), () => setTimeout(() => req.destroy(), 300));
    });
    // The API notices the reset and removes the temporary file; wait for that state, then check both names.
    let left = 'pending';
    for (let i = 0; i < 100 && left !== ''; i++) {
      left = await sh('ls -A /root | grep -e xspectre-upload -e cut.bin || true');
      if (left !== '') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(left).toBe('');
    expect(await exists('/root/cut.bin')).toBe(false);
    let failed: AuditRow | undefined;
    for (let i = 0; i < 50 && !failed; i++) {
      failed = (await auditRows('files.upload')).find((r) => r.details.path === '/root/cut.bin');
      if (!failed) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(failed?.result).toBe('failure');
  });
}
