// The recovery stick end to end (issue 16), everything real: the image built by
// recovery-usb/build.sh with the agent's single executable, the API in this process, the lab's
// WireGuard hub and underlay, the backup server on the hub's overlay address, a light device as
// the machine's normal agent; qemu (TCG, never KVM; SeaBIOS) boots the personalised image as a USB
// stick with a 64 MiB target disk (GPT + ext4 with known files and random data) and a NIC on a tap
// in the lab's underlay bridge, where busybox udhcpd (on the bridge, in the root namespace where
// the hub is) hands out an underlay address. The stick registers in RECOVERY MODE over its tunnel;
// a Super Admin opens the recovery shell (the stick's own sshd, host key pinned for the boot) and
// runs commands as root on it; "Take full image now" images the disk to the backup server; the disk is wiped; the stick boots
// again and "Restore image…" writes it back: the disk's SHA-256 equals the one before the first boot.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MAIN, AGENT_NODE_FLAGS, AGENT_SEA, ensureAgentExecutable, startLab, type Lab, type LightDevice } from '@xspectre/lab';
import type { TerminalTicket } from '@xspectre/contracts';
import { readRecoveryConf } from '../src/recovery/recovery-image.js';
import { sshKeyFingerprint } from '../src/ssh/ssh-certificate-authority.js';
import { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { freePort } from './support/built-process.js';
import { startLabBackupServer, type LabBackupServer } from './support/lab-backup-server.js';
import { TerminalClient } from './support/terminal-client.js';

const BUILD = fileURLToPath(new URL('../../recovery-usb/build.sh', import.meta.url));
const MiB = 1024 * 1024;
const TARGET_BYTES = 64 * MiB;
const DEVICE_NAME = 'scanner-usb-1';
/** Under TCG a boot takes 60–90 s, imaging and restoring a 64 MiB disk a few minutes: generous limits, polled states. */
const BOOT_MS = 10 * 60_000;
const JOB_MS = 15 * 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const secondsSince = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });

async function mustRun(file: string, args: string[]): Promise<string> {
  const r = await execa(file, args, { reject: false, all: true, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.exitCode}\n${r.all}`);
  return r.stdout;
}

/** Polls `read` until `done` holds (every second); the last value in the error otherwise. */
async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s; last: ${JSON.stringify(value)}`);
    await sleep(1000);
  }
}

/**
 * The target disk: a GPT with one ext4 partition made from a directory (`mkfs.ext4 -d`, no loop
 * mount) holding known files and 8 MiB of pseudo-random data, placed with dd, and 16 MiB of
 * pseudo-random bytes after it (outside every file system).
 */
async function makeTargetDisk(dir: string): Promise<string> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'etc/scanner'), { recursive: true });
  await writeFile(join(tree, 'etc/scanner/scanner.conf'), '[scanner]\nname = scanner-usb-1\nfeeds = nightly\n');
  await writeFile(join(tree, 'README'), 'the disk a recovery stick images and restores\n');
  const random = Buffer.alloc(8 * MiB);
  for (let i = 0; i < random.length; i += 64) createHash('sha512').update(`block-${i}`).digest().copy(random, i);
  await writeFile(join(tree, 'data.bin'), random);
  const disk = join(dir, 'target.img');
  const part = join(dir, 'part.ext4');
  await mustRun('truncate', ['-s', String(TARGET_BYTES), disk]);
  await mustRun('sgdisk', ['--clear', '-n', '1:2048:+40M', '-t', '1:8300', '-c', '1:scanner-data', disk]);
  await mustRun('mkfs.ext4', ['-q', '-F', '-d', tree, '-E', 'root_owner=0:0', '-U', '6b1c1f0e-3a52-4d7e-9a6e-1f0c2b3d4e5f', part, '40M']);
  await mustRun('dd', [`if=${part}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
  const tail = Buffer.alloc(16 * MiB);
  for (let i = 0; i < tail.length; i += 64) createHash('sha512').update(`tail-${i}`).digest().copy(tail, i);
  await writeFile(join(dir, 'tail.bin'), tail);
  await mustRun('dd', [`if=${join(dir, 'tail.bin')}`, `of=${disk}`, 'bs=1M', 'seek=42', 'conv=notrunc', 'status=none']);
  await rm(part);
  await rm(join(dir, 'tail.bin'));
  await rm(tree, { recursive: true });
  return disk;
}

/** qemu booting the stick; the serial console's lines kept (and appended to `log`). */
class StickVm {
  readonly lines: string[] = [];
  /** When each line arrived (ms since the epoch), index for index. */
  private readonly at: number[] = [];
  readonly startedAt = Date.now();
  private readonly waiters = new Set<() => void>();
  private exit: { code: number | undefined } | undefined;
  private readonly proc: ResultPromise;

  constructor(args: string[], log: string) {
    this.proc = execa('qemu-system-x86_64', args, { reject: false, buffer: false, stdin: 'ignore', stderr: 'pipe' });
    let pending = '';
    let stderr = '';
    this.proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    this.proc.stdout?.on('data', (c: Buffer) => {
      pending += c.toString('latin1');
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      // eslint-disable-next-line no-control-regex -- firmware and GRUB draw with escape sequences (ESC)
      const clean = parts.map((raw) => raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''));
      this.lines.push(...clean);
      this.at.push(...clean.map(() => Date.now()));
      void appendFile(log, clean.map((l) => `${l}\n`).join(''));
      for (const wake of this.waiters) wake();
    });
    void this.proc.then((r) => {
      this.exit = { code: r.exitCode };
      if (stderr) void appendFile(log, `qemu stderr: ${stderr}\n`);
      for (const wake of this.waiters) wake();
    });
  }

  get exited(): boolean {
    return this.exit !== undefined;
  }

  /** The first console line matching `re` (waits for it); fails when qemu exits first. */
  async line(re: RegExp, timeoutMs: number): Promise<{ line: string; seconds: number }> {
    return this.wait(`a console line ${re}`, timeoutMs, () => {
      const i = this.lines.findIndex((l) => re.test(l));
      return i < 0 ? undefined : { line: this.lines[i]!, seconds: (this.at[i]! - this.startedAt) / 1000 };
    });
  }

  /** qemu's exit (-no-reboot: the stick's reboot ends it). */
  async exitCode(timeoutMs: number): Promise<number | undefined> {
    return (await this.wait('qemu to exit', timeoutMs, () => this.exit, true)).code;
  }

  private wait<T>(what: string, timeoutMs: number, check: () => T | undefined, exitOk = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${what}: not within ${timeoutMs / 1000} s\n${this.tail()}`)), timeoutMs);
      const done = (error: Error | null, value?: T) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        if (error) reject(error);
        else resolve(value as T);
      };
      const wake = () => {
        const value = check();
        if (value !== undefined) done(null, value);
        else if (this.exit && !exitOk) done(new Error(`qemu exited (${this.exit.code}) before ${what}\n${this.tail()}`));
      };
      this.waiters.add(wake);
      wake();
    });
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  async kill(): Promise<void> {
    if (!this.exit) this.proc.kill('SIGKILL');
    await this.proc;
  }
}

describe('fleet lab: the recovery stick booted in qemu images and restores a disk over WireGuard', () => {
  let dir: string;
  let lab: Lab | undefined;
  let api: TestApi | undefined;
  let backupServer: LabBackupServer | undefined;
  let admin: string;
  let totpSecret: string;
  let deviceId: string;
  let light: LightDevice;
  let genericImage: string;
  let stickImage: string;
  let target: string;
  let originalSha: string;
  let imageName: string;
  let tap = '';
  let udhcpd: ResultPromise | undefined;
  let agentBack: number | undefined;
  const vms: StickVm[] = [];
  const started = Date.now();

  /** Stepped up again every 2 minutes (a TOTP code is accepted once: a new one every 30 s). */
  let steppedAt = 0;
  async function critical(): Promise<string> {
    if (Date.now() - steppedAt > 120_000) {
      await stepUp(api!, admin, totpSecret);
      steppedAt = Date.now();
    }
    return admin;
  }
  const medium = async () => {
    const r = await api!.request('GET', `devices/${deviceId}/recovery-media`, { token: admin });
    if (r.status !== 200) throw new Error(`recovery media: ${r.status} ${r.text}`);
    return (r.body.media as Array<Record<string, any>>).find((m) => m.state === 'active');
  };
  const diskImages = async () => {
    const r = await api!.request('GET', `devices/${deviceId}/disk-images`, { token: admin });
    if (r.status !== 200) throw new Error(`disk images: ${r.status} ${r.text}`);
    return r.body as { images: Array<Record<string, any>>; job: Record<string, any> | null };
  };

  /** The machine boots its stick: its normal agent is gone, qemu starts with the stick, the target disk and the tap. */
  async function bootStick(n: number): Promise<StickVm> {
    if (agentBack !== undefined) {
      process.kill(agentBack, 'SIGTERM');
      await until(
        'the normal agent to stop',
        async () => processAlive(agentBack!),
        (alive) => !alive,
        30_000,
      );
      agentBack = undefined;
    } else {
      await light.stopAgent();
    }
    const vm = new StickVm(
      [
        '-machine', 'q35', '-m', '1536', '-smp', '2',
        '-display', 'none', '-vga', 'none', '-serial', 'stdio', '-monitor', 'none',
        '-no-reboot',
        '-device', 'qemu-xhci,id=xhci',
        '-drive', `file=${stickImage},format=raw,if=none,id=stick,snapshot=on`,
        '-device', 'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0',
        '-drive', `file=${target},format=raw,if=none,id=target`,
        '-device', 'ide-hd,drive=target,bus=ide.0',
        '-netdev', `tap,id=net0,ifname=${tap},script=no,downscript=no`,
        '-device', 'e1000,netdev=net0,mac=52:54:00:5e:c0:01',
      ], // prettier-ignore
      join(dir, `serial-${n}.log`),
    );
    vms.push(vm);
    return vm;
  }
  /** Alive and not a zombie (/proc/PID/stat's state field). */
  const processAlive = async (pid: number) => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat !== '' && !/\) Z /.test(stat);
  };
  /** The machine's own system is back after the stick's reboot: its agent runs again and polls (which ends the job). */
  async function normalAgentBack(n: number): Promise<void> {
    const conf = join(light.configDir, 'agent.conf');
    const state = join(light.configDir, 'state');
    agentBack = await light.startProcess(
      process.execPath,
      [...AGENT_NODE_FLAGS, AGENT_MAIN, 'run', '--config', conf, '--state-dir', state],
      `agent-back-${n}.log`,
    );
  }

  /** Waits until the stick registered (RECOVERY MODE through the API) with a boot other than `previousBoot`. */
  async function recoveryMode(vm: StickVm, previousBoot: string | null) {
    const m = await until(
      'RECOVERY MODE',
      async () => (vm.exited ? { exited: vm.tail() } : ((await medium())?.recoveryMode ?? null)),
      (mode) => mode !== null && ('exited' in mode || mode.bootId !== previousBoot),
      BOOT_MS,
    );
    if ('exited' in m) throw new Error(`qemu exited before the stick registered:\n${m.exited}`);
    return m as { bootId: string; hardware: { disks: Array<{ name: string; sizeBytes: number; role: string }>; firmware: string } };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-recovery-e2e-'));
    // The agent executable as the lab builds it, copied once (the build input whatever rebuilds agent/dist meanwhile).
    await ensureAgentExecutable((line) => console.log(`agent: ${line}`));
    const agent = join(dir, 'xspectre-agent');
    await copyFile(AGENT_SEA, agent);
    const t0 = Date.now();
    const built = await execa(BUILD, ['--out', join(dir, 'generic'), '--agent', agent], { reject: false, all: true, stdin: 'ignore' });
    if (built.exitCode !== 0) throw new Error(`build.sh failed (${built.exitCode}):\n${built.all}`);
    genericImage = join(dir, 'generic', 'xspectre-recovery.img');
    console.log(
      `recovery e2e: image built in ${secondsSince(t0)} s\n${built.all
        .split('\n')
        .filter((l) => /done:|sha256|agent/.test(l))
        .join('\n')}`,
    );

    target = await makeTargetDisk(dir);
    originalSha = await sha256File(target);
    console.log(`recovery e2e: target disk ${TARGET_BYTES} bytes, sha256 ${originalSha}`);

    // One lab per machine: another spec's (or CI's) lab may hold it for a while.
    lab = await startLab({ waitForOtherLabMs: 30 * 60_000, log: (line) => console.log(`lab: ${line}`) });
    const backupPort = await freePort();
    const mediaDir = join(dir, 'media');
    await mkdir(mediaDir, { mode: 0o700 });
    api = await TestApi.start(
      {
        ...lab.apiEnv(),
        API_AGENT_HEARTBEAT_SECONDS: '5',
        API_WG_RECONCILE_SECONDS: '2',
        API_BACKUP_SERVER_URL: `http://${lab.hub.address}:${backupPort}`,
        API_ACCESS_TOKEN_TTL_SECONDS: '3600',
        API_RECOVERY_IMAGE: genericImage,
        API_RECOVERY_MEDIA_DIR: mediaDir,
        API_TERMINAL_RECORDINGS_DIR: join(dir, 'recordings'),
        // sshd under TCG: a login (fork, re-exec, key exchange) takes seconds, not milliseconds.
        API_SSH_CONNECT_TIMEOUT_MS: '60000',
      },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    backupServer = await startLabBackupServer({ host: lab.hub.address, port: backupPort, keyStoreDir: api.config.API_KEY_STORE_DIR });
    admin = await api.adminToken();
    totpSecret = (await api.enableTotp(admin)).secret;
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Recovery USB', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: DEVICE_NAME, organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    if (created.status !== 201) throw new Error(`create device: ${created.status} ${created.text}`);
    deviceId = created.body.device.id;
    // The machine's own system and agent (enrolled, heard): what the stick is bound to and what comes back after it.
    light = await lab.addLightDevice({ claimCode: created.body.claimCode.code });

    // The stick's NIC: a tap on the lab's underlay bridge (isolated like every device port: it reaches
    // the hub side only); udhcpd on the bridge answers its DHCP with an underlay address.
    tap = `xsl-${lab.id}-tp`;
    const bridge = `xsl-${lab.id}-br`;
    await mustRun('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    await mustRun('ip', ['link', 'set', tap, 'master', bridge]);
    await mustRun('bridge', ['link', 'set', 'dev', tap, 'isolated', 'on']);
    await mustRun('ip', ['link', 'set', tap, 'up']);
    const udhcpdConf = join(dir, 'udhcpd.conf');
    await writeFile(
      udhcpdConf,
      [
        'start 198.18.200.10',
        'end 198.18.200.20',
        `interface ${bridge}`,
        `lease_file ${join(dir, 'udhcpd.leases')}`,
        `pidfile ${join(dir, 'udhcpd.pid')}`,
        'option subnet 255.255.0.0',
        'option lease 3600',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'udhcpd.leases'), '');
    udhcpd = execa('busybox', ['udhcpd', '-f', udhcpdConf], { reject: false, stdin: 'ignore', all: true, buffer: true });
    console.log(`recovery e2e: lab, API, backup server, device, tap ${tap} after ${secondsSince(started)} s`);
  }, 40 * 60_000);

  afterAll(async () => {
    for (const vm of vms) await vm.kill().catch(() => undefined);
    if (udhcpd) {
      udhcpd.kill('SIGTERM');
      await udhcpd;
    }
    if (agentBack !== undefined && (await processAlive(agentBack))) process.kill(agentBack, 'SIGTERM');
    if (tap) await execa('ip', ['link', 'del', tap], { reject: false });
    await backupServer?.stop();
    // The stick rebooted while its long poll was open: the API's answer to it sits in a socket
    // retransmitting to a peer that is gone (the kernel gives up after ~15 min), and a graceful
    // close waits for it. Nobody is left to read it.
    (api?.app.getHttpServer() as import('node:http').Server | undefined)?.closeAllConnections();
    await api?.stop();
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`recovery e2e: whole file ${secondsSince(started)} s`);
  }, 180_000);

  it('creates recovery media through the API and downloads the personalised image (X-Image-SHA256)', async () => {
    const r = await api!.request('POST', `devices/${deviceId}/recovery-media`, { token: await critical(), body: {} });
    expect(r.status, r.text).toBe(201);
    const m = r.body.medium as Record<string, any>;
    const response = await fetch(`${api!.baseUrl}/api/v1/devices/${deviceId}/recovery-media/${m.id}/image`, {
      headers: { authorization: `Bearer ${await critical()}` },
    });
    expect(response.status).toBe(200);
    stickImage = join(dir, 'stick.img');
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(stickImage));
    const sha = await sha256File(stickImage);
    expect(response.headers.get('x-image-sha256')).toBe(sha);
    expect(sha).toBe(m.imageSha256);
    expect((await stat(stickImage)).size).toBe((await stat(genericImage)).size);
    // The stick reaches the hub on the underlay and the API over the overlay.
    const conf = await readRecoveryConf(stickImage);
    expect(conf).toContain(`XS_DEVICE_ID=${deviceId}\n`);
    expect(conf).toContain(`XS_WG_HUB_ENDPOINT=${lab!.hub.endpoint}\n`);
    expect(conf).toContain(`XS_API_URL=${lab!.overlayApiUrl}\n`);
    console.log(`recovery e2e: personalised image ${(await stat(stickImage)).size} bytes, sha256 ${sha}`);
  });

  let firstBoot: string;
  let firstVm: StickVm;
  it(
    'boots the stick in qemu: DHCP on the underlay, tunnel, RECOVERY MODE through the API',
    async () => {
      firstVm = await bootStick(1);
      const mode = await recoveryMode(firstVm, null);
      firstBoot = mode.bootId;
      const registered = await firstVm.line(/XSPECTRE-RECOVERY step=agent register ok/, 60_000);
      const ready = await firstVm.line(/XSPECTRE-RECOVERY ready /, 1000);
      expect(firstVm.lines.join('\n')).toMatch(/XSPECTRE-RECOVERY step=network ok iface=\S+ addr=198\.18\.200\.\d+\/16 /);
      expect(firstVm.lines.join('\n')).toMatch(/XSPECTRE-RECOVERY step=agent tunnel ok via=kernel /);
      expect(mode.hardware.firmware).toBe('bios');
      const targets = mode.hardware.disks.filter((d) => d.role === 'target');
      expect(targets.map((d) => d.sizeBytes)).toEqual([TARGET_BYTES]);
      expect(mode.hardware.disks.filter((d) => d.role === 'recovery-stick')).toHaveLength(1);
      // Over WireGuard: the stick's own key has a handshake with the hub.
      const m = await medium();
      const peer = (await lab!.hubStatus()).peers.find((p) => p.publicKey === m!.wgPublicKey);
      expect(peer?.latestHandshakeAt, JSON.stringify(peer)).toBeInstanceOf(Date);
      console.log(
        `recovery e2e: boot 1: ${ready.line.trim()} at ${ready.seconds.toFixed(1)} s, registered at ${registered.seconds.toFixed(1)} s after qemu start`,
      );
    },
    BOOT_MS + 120_000,
  );

  it(
    "a Super Admin opens the recovery shell on the booted stick: root, the stick's manifest, closed cleanly and audited with the boot",
    async () => {
      // The agent starts sshd after registering: its console line says whether this image has a shell.
      const shell = await firstVm.line(/XSPECTRE-RECOVERY step=agent shell (ok|unavailable)/, 120_000);
      expect(shell.line, firstVm.tail()).toMatch(/step=agent shell ok /);
      // `shell ok` is sshd spawned; under TCG it listens seconds later (its own line, through the agent).
      const listening = await firstVm.line(
        /XSPECTRE-RECOVERY step=agent sshd line="Server listening on 10\.10\.0\.\d+ port 22\."/,
        120_000,
      );
      const m = (await medium())!;
      const mode = m.recoveryMode as { bootId: string; shellHostKeyFingerprint?: string | null };
      expect(mode.bootId).toBe(firstBoot);
      const { rows } = await api!.sql.query('SELECT ssh_host_key FROM recovery_media WHERE id = $1', [m.id]);
      const hostKey = rows[0].ssh_host_key as string;
      expect(hostKey).toMatch(/^ssh-ed25519 /);
      expect(mode.shellHostKeyFingerprint).toBe(sshKeyFingerprint(hostKey));

      const t0 = Date.now();
      const r = await api!.request('POST', `devices/${deviceId}/terminal-sessions`, {
        token: await critical(),
        body: { target: 'recovery', cols: 120, rows: 30 },
      });
      expect(r.status, r.text).toBe(201);
      const ticket = r.body as TerminalTicket;
      const client = await TerminalClient.open(api!, ticket.ticket, { bearer: admin });
      if (!(client instanceof TerminalClient))
        throw new Error(`recovery terminal refused: ${client.status} ${JSON.stringify(client.body)}`);
      const ready = await client.next('ready', 120_000).catch((error: Error) => {
        throw new Error(`${error.message}\nstick console:\n${firstVm.tail()}`);
      });
      expect(ready).toMatchObject({ deviceId, target: 'recovery', hostKeyFingerprint: sshKeyFingerprint(hostKey) });
      const readyIn = secondsSince(t0);
      // Markers the typed (echoed) command line itself cannot match: computed by the stick's shell.
      const t1 = Date.now();
      client.type(
        'echo "who=$(id -un)"; head -c 200 /etc/xspectre-recovery/manifest.json; echo; ' +
          'ip -brief address show dev xs-recovery; echo "XS-SHELL-OK-$((40 + 2))"\r',
      );
      await client.waitForOutput(/XS-SHELL-OK-42/, 60_000);
      const ranIn = secondsSince(t1);
      const output = client.text();
      expect(output).toMatch(/who=root/);
      expect(output).toContain('"name": "xspectre-recovery"');
      expect(output).toContain('"suite": "bookworm"');
      expect(output).toMatch(new RegExp(`xs-recovery\\s+\\S+\\s+${String(m.overlayAddress).replace(/\./g, '\\.')}/32`));
      client.type('exit\r');
      expect(await client.next('ended', 60_000)).toMatchObject({ reason: 'closed', exitCode: 0 });

      // Audited with the medium and this boot; the recording sealed; the stick's sshd logged the certificate's key id.
      const closing = await until(
        'the closing audit row',
        async () => (await api!.auditRows(`action = 'remote_session.end' AND details->>'sessionId' = $1`, [ticket.sessionId]))[0],
        (row) => row !== undefined,
        30_000,
      );
      expect(closing.details).toMatchObject({ reason: 'closed', target: 'recovery', mediumId: m.id, bootId: firstBoot });
      expect(closing.details.recordingSha256).toMatch(/^[0-9a-f]{64}$/);
      const [started] = await api!.auditRows(`action = 'remote_session.start' AND details->>'sessionId' = $1`, [ticket.sessionId]);
      expect(started.details).toMatchObject({ target: 'recovery', mediumId: m.id, bootId: firstBoot });
      await firstVm.line(new RegExp(`step=agent sshd .*xspectre recovery session ${ticket.sessionId}`), 30_000);
      console.log(
        `recovery e2e: recovery shell on boot 1: ticket to ready ${readyIn} s, command to marker ${ranIn} s; ` +
          `host key ${sshKeyFingerprint(hostKey)}; shell ok at ${shell.seconds.toFixed(1)} s, sshd listening at ${listening.seconds.toFixed(1)} s after qemu start`,
      );
    },
    5 * 60_000,
  );

  it(
    'takes a full image now: job succeeds, catalog metadata has the raw SHA-256 of the disk, the file is on the backup server',
    async () => {
      const t0 = Date.now();
      const r = await api!.request('POST', `devices/${deviceId}/disk-images`, { token: await critical(), body: {} });
      expect(r.status, r.text).toBe(201);
      expect(r.body.state).toBe('imaging'); // in RECOVERY MODE: recovery.image is queued at once
      imageName = r.body.imageName;
      const stored = await until(
        'the image job to leave imaging',
        async () => (await diskImages()).job,
        (j) => j?.state !== 'imaging',
        JOB_MS,
      );
      expect(stored, JSON.stringify(stored)).toMatchObject({ state: 'rebooting', error: null });
      const imagedIn = secondsSince(t0);
      // recovery.reboot: the stick reboots, qemu (-no-reboot) exits.
      expect(await firstVm.exitCode(5 * 60_000)).toBe(0);
      expect(firstVm.lines.join('\n')).toMatch(/XSPECTRE-RECOVERY step=shutdown reboot/);
      await normalAgentBack(1);
      const job = await until(
        'the image job to end',
        async () => (await diskImages()).job,
        (j) => j?.state === 'succeeded' || j?.state === 'failed',
        JOB_MS,
      );
      expect(job, JSON.stringify(job)).toMatchObject({ state: 'succeeded', error: null });

      const { images } = await diskImages();
      const image = images.find((i) => i.imageName === imageName)!;
      expect(image, JSON.stringify(images)).toBeDefined();
      expect(image.rawBytes).toBe(TARGET_BYTES);
      expect(image.metadata.disks).toHaveLength(1);
      expect(image.metadata.disks[0]).toMatchObject({ sizeBytes: TARGET_BYTES, sha256Raw: originalSha });
      expect(image.metadata.disks[0].partitionTable.type).toBe('gpt');
      // On the backup server's store, with the SHA-256 the catalog has.
      const files = (await readdir(backupServer!.storageDir, { recursive: true })).filter((f) => f.endsWith(`${imageName}.img.zst`));
      expect(files, JSON.stringify(files)).toHaveLength(1);
      const stored2 = join(backupServer!.storageDir, files[0]!);
      expect(await sha256File(stored2)).toBe(image.sha256Compressed);
      expect((await stat(stored2)).size).toBe(image.compressedBytes);
      console.log(
        `recovery e2e: image ${imageName}: raw ${image.rawBytes} bytes sha256 ${image.metadata.disks[0].sha256Raw}, ` +
          `compressed ${image.compressedBytes} bytes sha256 ${image.sha256Compressed}; stick's duration ${image.metadata.durationSeconds} s, ` +
          `request to stored ${imagedIn} s, to job succeeded ${secondsSince(t0)} s`,
      );
    },
    2 * JOB_MS + 10 * 60_000,
  );

  it(
    'wipes the disk, boots the stick again and restores the image: the disk is byte for byte as before',
    async () => {
      await mustRun('dd', ['if=/dev/zero', `of=${target}`, 'bs=1M', `count=${TARGET_BYTES / MiB}`, 'conv=notrunc', 'status=none']);
      const wiped = await sha256File(target);
      expect(wiped).not.toBe(originalSha);
      const vm = await bootStick(2);
      const mode = await recoveryMode(vm, firstBoot);
      const ready = await vm.line(/XSPECTRE-RECOVERY ready /, 60_000);
      const disk = mode.hardware.disks.find((d) => d.role === 'target')!;
      expect(disk.sizeBytes).toBe(TARGET_BYTES);
      const { images } = await diskImages();
      const imageDisk = images.find((i) => i.imageName === imageName)!.metadata.disks[0].name as string;

      const t0 = Date.now();
      const wrong = await api!.request('POST', `devices/${deviceId}/disk-images/${imageName}/restore`, {
        token: await critical(),
        body: { confirmDeviceName: DEVICE_NAME.toUpperCase(), targets: [{ imageDisk, target: disk.name }] },
      });
      expect(wrong.status, wrong.text).toBe(400);
      const r = await api!.request('POST', `devices/${deviceId}/disk-images/${imageName}/restore`, {
        token: await critical(),
        body: { confirmDeviceName: DEVICE_NAME, targets: [{ imageDisk, target: disk.name }] },
      });
      expect(r.status, r.text).toBe(201);
      expect(r.body.state).toBe('restoring');
      const written = await until(
        'the restore to leave restoring',
        async () => (await diskImages()).job,
        (j) => j?.state !== 'restoring',
        JOB_MS,
      );
      expect(written, JSON.stringify(written)).toMatchObject({ state: 'rebooting', error: null });
      const restoredIn = secondsSince(t0);
      expect(await vm.exitCode(5 * 60_000)).toBe(0);
      await normalAgentBack(2);
      const job = await until(
        'the restore job to end',
        async () => (await diskImages()).job,
        (j) => j?.state === 'succeeded' || j?.state === 'failed',
        JOB_MS,
      );
      expect(job, JSON.stringify(job)).toMatchObject({ state: 'succeeded', error: null });
      const after = await sha256File(target);
      expect(after).toBe(originalSha);
      console.log(
        `recovery e2e: boot 2: ${ready.line.trim()} at ${ready.seconds.toFixed(1)} s; restore ${imageDisk} → ${disk.name}: ` +
          `request to written ${restoredIn} s, to job succeeded ${secondsSince(t0)} s\n` +
          `recovery e2e: target sha256 before ${originalSha}, wiped ${wiped}, after restore ${after}`,
      );
    },
    BOOT_MS + 2 * JOB_MS + 10 * 60_000,
  );
});
