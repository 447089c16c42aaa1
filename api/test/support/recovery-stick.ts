import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { TestApi } from './harness.js';
import { FIXTURE_CONFIG_OFFSET } from './recovery-image.js';

const MiB = 1024 ** 2;

/** The stick's hardware report (RecoveryHardwareSchema) with these disks; role `target` unless said. */
export const stickHardware = (disks: Array<{ name: string; sizeBytes: number; role?: 'target' | 'recovery-stick'; model?: string }>) => ({
  firmware: 'uefi',
  cpuModel: 'QEMU Virtual CPU',
  cpus: 2,
  memoryBytes: 1024 ** 3,
  disks: disks.map((d) => ({
    name: d.name,
    sizeBytes: d.sizeBytes,
    model: d.model ?? 'QEMU HARDDISK',
    serial: null,
    removable: d.role === 'recovery-stick',
    rotational: true,
    role: d.role ?? 'target',
  })),
  nics: [{ name: 'eth0', mac: '52:54:00:12:34:56', driver: 'e1000' }],
});

/** A 64 MiB target disk `sda` and the stick `sdb`. */
export const DEFAULT_STICK_HARDWARE = stickHardware([
  { name: 'sda', sizeBytes: 64 * MiB },
  { name: 'sdb', sizeBytes: 170 * MiB, role: 'recovery-stick', model: 'STICK' },
]);

/**
 * A recovery medium for the device, created through the real route (the API must run with the
 * recovery image fixture of recovery-image.ts), and the stick's side of the API driven with the
 * credential read back from the personalised image's recovery.conf.
 */
export async function createStick(api: TestApi, adminToken: string, deviceId: string) {
  const created = await api.request('POST', `devices/${deviceId}/recovery-media`, { token: adminToken, body: {} });
  expect(created.status, created.text).toBe(201);
  const dir = await mkdtemp(join(tmpdir(), 'xs-stick-dl-'));
  try {
    const response = await fetch(`${api.baseUrl}/api/v1/devices/${deviceId}/recovery-media/${created.body.medium.id}/image`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(response.status).toBe(200);
    const path = join(dir, 'stick.img');
    await writeFile(path, Buffer.from(await response.arrayBuffer()));
    const { stdout } = await execa('mtype', ['-i', `${path}@@${FIXTURE_CONFIG_OFFSET}`, '::recovery.conf'], {
      env: { MTOOLS_SKIP_CHECK: '1' },
    });
    const credential = /^XS_CREDENTIAL=(.+)$/m.exec(stdout)![1]!;
    const call = (method: string, path: string, body?: unknown) => api.request(method, path, { token: credential, body });
    return {
      mediumId: created.body.medium.id as string,
      credential,
      call,
      register: (hardware: unknown = DEFAULT_STICK_HARDWARE) =>
        call('POST', 'agent/recovery/register', {
          bootId: randomUUID(),
          agentVersion: '0.1.0',
          recipeHash: null,
          kernel: '6.1.0',
          hardware,
        }),
      poll: async () => (await call('GET', 'agent/recovery/commands?waitSeconds=0')).body.commands as Array<Record<string, any>>,
      report: (commandId: string, body: unknown) => call('POST', `agent/recovery/commands/${commandId}/status`, body),
      token: (commandId: string, op: string) => call('POST', 'agent/recovery/image-tokens', { commandId, op }),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
export type TestStick = Awaited<ReturnType<typeof createStick>>;

/** The backup server's image routes with a token (basic auth: the device id and the token). */
export function imageRequest(
  backupUrl: string,
  deviceId: string,
  token: string,
  method: string,
  path: string,
  body?: Buffer | unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${backupUrl}/disk-images/${deviceId}/${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${deviceId}:${token}`).toString('base64')}`,
      ...(body === undefined
        ? {}
        : Buffer.isBuffer(body)
          ? { 'content-type': 'application/octet-stream' }
          : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}
