import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type ContainerDevice, type Lab } from '@xspectre/lab';
import { FINAL_COMMAND_STATUSES, type Command } from '@xspectre/contracts';
import { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const STATE = '/var/lib/xs-lab/rb';
const ESP_UUID = '5e7a1c2b-0d3f-4a8e-9b61-2c4d6e8f0a12';

/**
 * Stand-ins for the boot tools, installed in /usr/local/sbin (ahead of /usr/sbin and /usr/bin on
 * a unit's PATH). Each appends its name and arguments (tab-separated) to $STATE/calls and answers
 * as the real tool does for the machine in $STATE/mode: `uefi` (efibootmgr keeps its entries,
 * BootOrder and BootNext in files), `bios` (efibootmgr: EFI variables are not supported; GRUB
 * present), `nostick` (lsblk lists only the main disk).
 */
const RECORD = `rec() { { printf '%s' "$(basename "$0")"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >> ${STATE}/calls; }`;
const STUBS: Record<string, string> = {
  lsblk: `#!/bin/bash
${RECORD}
rec "$@"
main='{"name":"sda","path":"/dev/sda","type":"disk","pkname":null,"partlabel":null,"label":null,"partuuid":null,"rm":false,"size":34359738368,
 "children":[{"name":"sda1","path":"/dev/sda1","type":"part","pkname":"sda","partlabel":"EFI","label":null,"partuuid":"aaaaaaaa-0000-4000-8000-000000000001","rm":false,"size":536870912},
             {"name":"sda2","path":"/dev/sda2","type":"part","pkname":"sda","partlabel":null,"label":"root","partuuid":"aaaaaaaa-0000-4000-8000-000000000002","rm":false,"size":33000000000}]}'
stick='{"name":"sdb","path":"/dev/sdb","type":"disk","pkname":null,"partlabel":null,"label":null,"partuuid":null,"rm":true,"size":174063616,
 "children":[{"name":"sdb1","path":"/dev/sdb1","type":"part","pkname":"sdb","partlabel":"BIOS-BOOT","label":null,"partuuid":"11111111-2222-4333-8444-555555555551","rm":true,"size":1048576},
             {"name":"sdb2","path":"/dev/sdb2","type":"part","pkname":"sdb","partlabel":"EFI","label":"XS-EFI","partuuid":"${ESP_UUID}","rm":true,"size":67108864},
             {"name":"sdb3","path":"/dev/sdb3","type":"part","pkname":"sdb","partlabel":"XS-RECOVERY","label":"XS-RECOVERY","partuuid":"11111111-2222-4333-8444-555555555553","rm":true,"size":88080384},
             {"name":"sdb4","path":"/dev/sdb4","type":"part","pkname":"sdb","partlabel":"XS-RECOVERY-CFG","label":"XSRECOVCFG","partuuid":"11111111-2222-4333-8444-555555555554","rm":true,"size":16777216}]}'
if [ "$(cat ${STATE}/mode)" = nostick ]; then echo "{\\"blockdevices\\":[$main]}"; else echo "{\\"blockdevices\\":[$main,$stick]}"; fi
`,
  efibootmgr: `#!/bin/bash
${RECORD}
rec "$@"
if [ "$(cat ${STATE}/mode)" != uefi ]; then echo 'EFI variables are not supported on this system.' >&2; exit 2; fi
show() {
  echo "BootCurrent: 0000"
  [ -s ${STATE}/bootnext ] && echo "BootNext: $(cat ${STATE}/bootnext)"
  echo "Timeout: 1 seconds"
  echo "BootOrder: $(cat ${STATE}/bootorder)"
  cat ${STATE}/entries
}
case "$1" in
  ''|-v) show ;;
  --create-only)
    [ "$2 $3 $4 $5" = "--disk /dev/sdb --part 2" ] || { echo "efibootmgr: stand-in knows only /dev/sdb 2" >&2; exit 1; }
    printf 'Boot0004* %s\\tHD(2,GPT,${ESP_UUID},0x800,0x20000)/File(%s)\\n' "$7" "$9" >> ${STATE}/entries
    show ;;
  --bootnext) echo "$2" > ${STATE}/bootnext; show ;;
  --bootnum) show ;;
  -o|--bootorder) echo "$2" > ${STATE}/bootorder; show ;;
  *) echo "efibootmgr stand-in: unexpected $*" >&2; exit 1 ;;
esac
`,
  // update-grub runs the /etc/grub.d scripts into /boot/grub/grub.cfg: here only ours.
  'update-grub': `#!/bin/bash
${RECORD}
rec "$@"
mkdir -p /boot/grub && /etc/grub.d/42_xspectre_recovery > /boot/grub/grub.cfg
`,
  'grub-reboot': `#!/bin/bash
${RECORD}
rec "$@"
grep -qF "menuentry '$1'" /boot/grub/grub.cfg || { echo "grub-reboot: no entry $1" >&2; exit 1; }
echo "next_entry=$1" > /boot/grub/grubenv
`,
};

/**
 * The normal agent's reboot-to-recovery on a device container (systemd, the sandboxed agent from
 * bootstrap.sh, the real API and queue): the agent runs `xspectre-agent recovery-boot` as the
 * command's transient unit, which arms the one-time boot through the stand-in tools and reboots
 * with `systemctl reboot`, exactly as the reboot action (the container stops; the test starts it
 * again, as lab-commands' reboot test does). Checked: the recorded arguments, BootOrder never
 * written, the result after the boot.
 */
describe('fleet lab: reboot-to-recovery arms a one-time boot to the stick', () => {
  let lab: Lab;
  let api: TestApi;
  let admin: string;
  let totpSecret: string;
  let device: ContainerDevice;
  let deviceId: string;

  async function mustExec(file: string, args: string[], input?: string) {
    const r = await device.exec(file, args, { timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
    if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.exitCode} ${r.stderr}`);
    return r.stdout;
  }
  const getCommand = async (id: string) => (await api.request('GET', `commands/${id}`, { token: admin })).body as Command;
  async function waitFor(id: string, done: (c: Command) => boolean, timeoutMs: number): Promise<Command> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const command = await getCommand(id);
      if (done(command)) return command;
      if (Date.now() > deadline) throw new Error(`command ${id} is still ${command.status} after ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  }
  const isFinal = (c: Command) => FINAL_COMMAND_STATUSES.includes(c.status);
  /** Stepped up again every 2 minutes only: a TOTP code is accepted once (a new one every 30 s). */
  let steppedAt = 0;
  async function queue(): Promise<Command> {
    if (Date.now() - steppedAt > 120_000) {
      await stepUp(api, admin, totpSecret);
      steppedAt = Date.now();
    }
    const r = await api.request('POST', `devices/${deviceId}/critical-commands`, {
      token: admin,
      body: { action: 'reboot-to-recovery', params: {} },
    });
    if (r.status !== 201) throw new Error(`queue: ${r.status} ${r.text}`);
    return r.body as Command;
  }
  async function machine(mode: 'uefi' | 'bios' | 'nostick') {
    await mustExec('sh', ['-c', `rm -rf ${STATE} /boot/grub /etc/grub.d && mkdir -p ${STATE} /etc/grub.d`]);
    await mustExec('sh', ['-c', `cat > ${STATE}/mode`], mode);
    await mustExec('sh', ['-c', `cat > ${STATE}/bootorder`], '0000,0001\n');
    await mustExec(
      'sh',
      ['-c', `cat > ${STATE}/entries`],
      'Boot0000* debian\tHD(1,GPT,aaaaaaaa-0000-4000-8000-000000000001,0x800,0x100000)/File(\\EFI\\debian\\shimx64.efi)\n' +
        'Boot0001* UEFI PXEv4 (MAC:525400123456)\tPciRoot(0x0)/Pci(0x3,0x0)/MAC(525400123456,1)/IPv4(0.0.0.0,0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)\n',
    );
  }
  const calls = async () =>
    (await mustExec('cat', [`${STATE}/calls`]))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'));
  async function rebootAndConfirm(command: Command): Promise<Command> {
    expect(await device.waitForStop(180_000)).toBe(true);
    await device.restart();
    const done = await waitFor(command.id, isFinal, 240_000);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(done.stdout).toContain('the device restarted\nboot marker before: ');
    return done;
  }

  beforeAll(async () => {
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    api = await TestApi.start(
      { ...lab.apiEnv(), API_AGENT_HEARTBEAT_SECONDS: '5', API_WG_RECONCILE_SECONDS: '2', API_ACCESS_TOKEN_TTL_SECONDS: '3600' },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    admin = await api.adminToken();
    totpSecret = (await api.enableTotp(admin)).secret;
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Recovery Boot', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'scanner-rb-1', organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    if (created.status !== 201) throw new Error(`create device: ${created.status} ${created.text}`);
    deviceId = created.body.device.id;
    device = await lab.addContainerDevice({ hostname: 'scanner-rb-1' });
    const result = await device.bootstrap(created.body.claimCode.code);
    if (result.exitCode !== 0) throw new Error(`bootstrap: ${result.stdout}\n${result.stderr}`);
    for (const [name, content] of Object.entries(STUBS)) {
      await mustExec('sh', ['-c', `cat > /usr/local/sbin/${name} && chmod 0755 /usr/local/sbin/${name}`], content);
    }
  }, 25 * 60_000);

  afterAll(async () => {
    await api?.stop();
    await lab?.teardown();
  }, 180_000);

  it('is critical: the plain commands route refuses it', async () => {
    const r = await api.request('POST', `devices/${deviceId}/commands`, {
      token: admin,
      body: { action: 'reboot-to-recovery', params: {} },
    });
    expect(r.status, r.text).toBe(400);
    expect(r.body.code).toBe('COMMAND_WRONG_ROUTE');
  });

  it('no stick: fails with the reason, only lsblk ran, nothing rebooted', async () => {
    await machine('nostick');
    const done = await waitFor((await queue()).id, isFinal, 120_000);
    expect(done, JSON.stringify(done)).toMatchObject({
      status: 'failed',
      reason: 'no recovery stick found: no disk has a partition named XS-RECOVERY and one named EFI (disks: sda)',
    });
    expect(await calls()).toEqual([['lsblk', '--json', '--bytes', '-o', 'NAME,PATH,TYPE,PKNAME,PARTLABEL,LABEL,PARTUUID,RM,SIZE']]);
    expect((await device.exec('test', ['-e', '/etc/grub.d/42_xspectre_recovery'])).exitCode).toBe(1);
    expect((await device.exec('systemctl', ['is-active', 'xspectre-agent.service'])).stdout.trim()).toBe('active');
  });

  it('UEFI: creates the entry without touching BootOrder, sets BootNext, reboots; reported after the boot', async () => {
    await machine('uefi');
    const command = await queue();
    expect(command.critical).toBe(true);
    const done = await rebootAndConfirm(command);
    expect(await calls()).toEqual([
      ['lsblk', '--json', '--bytes', '-o', 'NAME,PATH,TYPE,PKNAME,PARTLABEL,LABEL,PARTUUID,RM,SIZE'],
      ['efibootmgr', '-v'],
      [
        'efibootmgr',
        '--create-only',
        '--disk',
        '/dev/sdb',
        '--part',
        '2',
        '--label',
        'xSPECTRE Recovery',
        '--loader',
        '\\EFI\\BOOT\\BOOTX64.EFI',
      ],
      ['efibootmgr', '-v'],
      ['efibootmgr', '--bootnext', '0004'],
    ]);
    expect((await mustExec('cat', [`${STATE}/bootnext`])).trim()).toBe('0004');
    expect((await mustExec('cat', [`${STATE}/bootorder`])).trim()).toBe('0000,0001');
    expect(done.stdout).toContain('recovery stick: /dev/sdb (removable), EFI partition /dev/sdb2 (number 2, PARTUUID 5e7a1c2b');
    expect(done.stdout).toContain('one-time boot: BootNext=0004; BootOrder unchanged (0000,0001)');
  }, 600_000);

  it('legacy BIOS: the GRUB entry, update-grub and grub-reboot by title; reported after the boot', async () => {
    await machine('bios');
    const done = await rebootAndConfirm(await queue());
    expect(await calls()).toEqual([
      ['lsblk', '--json', '--bytes', '-o', 'NAME,PATH,TYPE,PKNAME,PARTLABEL,LABEL,PARTUUID,RM,SIZE'],
      ['efibootmgr', '-v'],
      ['update-grub'],
      ['grub-reboot', 'xSPECTRE Recovery'],
    ]);
    expect((await mustExec('stat', ['-c', '%a', '/etc/grub.d/42_xspectre_recovery'])).trim()).toBe('755');
    const cfg = await mustExec('cat', ['/boot/grub/grub.cfg']);
    expect(cfg).toContain("menuentry 'xSPECTRE Recovery' --id xspectre-recovery {");
    expect(cfg).toContain('search --no-floppy --label --set=root XS-RECOVERY');
    expect(cfg).not.toContain('exec tail');
    expect((await mustExec('cat', ['/boot/grub/grubenv'])).trim()).toBe('next_entry=xSPECTRE Recovery');
    expect(done.stdout).toContain("one-time boot: grub-reboot 'xSPECTRE Recovery'");
  }, 600_000);
});
