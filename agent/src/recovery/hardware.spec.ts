import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpuinfo, parseMeminfo, readHardware, type HardwareRoots } from './hardware.js';

let root: string;
let roots: HardwareRoots;
const put = async (path: string, text: string) => {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'xs-hw-'));
  roots = { sys: join(root, 'sys'), proc: join(root, 'proc') };
  // The machine's disk, the stick, and things that are not disks.
  await put('sys/block/vda/size', '8388608\n');
  await put('sys/block/vda/removable', '0\n');
  await put('sys/block/vda/queue/rotational', '1\n');
  await put('sys/block/vda/device/model', 'QEMU HARDDISK   \n');
  await put('sys/block/nvme0n1/size', '2000409264\n');
  await put('sys/block/nvme0n1/removable', '0\n');
  await put('sys/block/nvme0n1/queue/rotational', '0\n');
  await put('sys/block/nvme0n1/device/model', 'Samsung SSD 980\u001b[2J\n');
  await put('sys/block/nvme0n1/device/serial', 'S64DNX0R123456\n');
  await put('sys/block/sdb/size', '61440000\n');
  await put('sys/block/sdb/removable', '1\n');
  await put('sys/block/sdb/queue/rotational', '0\n');
  await put('sys/block/sdb/device/model', 'USB Flash\n');
  await put('sys/block/loop0/size', '100\n');
  await put('sys/block/zram0/size', '100\n');
  await put('sys/block/sr0/size', '100\n');
  await put('sys/block/sdc/size', '0\n'); // a card reader without a card
  await put('sys/class/net/lo/address', '00:00:00:00:00:00\n');
  await put('sys/class/net/eth0/address', '52:54:00:AB:CD:EF\n');
  await mkdir(join(root, 'sys/bus/pci/drivers/virtio_net'), { recursive: true });
  await mkdir(join(root, 'sys/class/net/eth0/device'), { recursive: true });
  await symlink(join(root, 'sys/bus/pci/drivers/virtio_net'), join(root, 'sys/class/net/eth0/device/driver'));
  await put('sys/class/net/wg0/address', '\n');
  await mkdir(join(root, 'sys/firmware/efi'), { recursive: true });
  await put(
    'proc/cpuinfo',
    'processor\t: 0\nmodel name\t: QEMU Virtual CPU version 2.5+\n\nprocessor\t: 1\nmodel name\t: QEMU Virtual CPU version 2.5+\n',
  );
  await put('proc/meminfo', 'MemTotal:        2030000 kB\nMemFree:  1 kB\n');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readHardware', () => {
  it('reads disks, NICs, firmware, CPU and memory from a sysfs tree; the stick is marked', async () => {
    const hw = await readHardware(roots, 'sdb');
    expect(hw).toEqual({
      firmware: 'uefi',
      cpuModel: 'QEMU Virtual CPU version 2.5+',
      cpus: 2,
      memoryBytes: 2030000 * 1024,
      disks: [
        {
          name: 'nvme0n1',
          sizeBytes: 2000409264 * 512,
          model: 'Samsung SSD 980 [2J',
          serial: 'S64DNX0R123456',
          removable: false,
          rotational: false,
          role: 'target',
        },
        {
          name: 'sdb',
          sizeBytes: 61440000 * 512,
          model: 'USB Flash',
          serial: null,
          removable: true,
          rotational: false,
          role: 'recovery-stick',
        },
        { name: 'vda', sizeBytes: 4 * 1024 ** 3, model: 'QEMU HARDDISK', serial: null, removable: false, rotational: true, role: 'target' },
      ],
      nics: [{ name: 'eth0', mac: '52:54:00:ab:cd:ef', driver: 'virtio_net' }],
    });
  });

  it('copes with a missing tree (BIOS, nothing found)', async () => {
    const hw = await readHardware({ sys: join(root, 'none'), proc: join(root, 'none') }, null);
    expect(hw).toEqual({ firmware: 'bios', cpuModel: null, cpus: 1, memoryBytes: 0, disks: [], nics: [] });
  });
});

describe('cpuinfo and meminfo', () => {
  it('parse the fields and tolerate garbage', () => {
    expect(parseCpuinfo('garbage')).toEqual({ cpuModel: null, cpus: 1 });
    expect(parseMeminfo('MemTotal: lots')).toBe(0);
    expect(parseMeminfo('MemTotal:  99999999999999999999 kB')).toBe(0);
  });
});
