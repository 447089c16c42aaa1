import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollRequestSchema, HardwareFactsSchema, InventoryReportSchema } from '@xspectre/contracts';
import { collectFacts, type FactSources } from './facts.js';
import { collectInventory } from './collectors/inventory.js';
import { AGENT_VERSION } from './version.js';

describe('collectFacts', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'xspectre-facts-'));
    const files: Record<string, string> = {
      'sys/class/dmi/id/sys_vendor': 'Dell Inc.\n',
      'sys/class/dmi/id/product_name': 'PowerEdge R340\n',
      'sys/class/dmi/id/product_serial': 'To be filled by O.E.M.\n',
      'proc/cpuinfo': 'processor : 0\nvendor_id : AuthenticAMD\ncpu family : 23\nmodel : 49\nmodel name : AMD EPYC 7302P\nstepping : 0\n',
      'proc/meminfo': 'MemTotal:        8000000 kB\n',
      'etc/os-release': 'NAME="Ubuntu"\nVERSION_ID="22.04"\n',
      'sys/block/sda/size': '1000\n',
      'sys/block/sda/device/model': 'Samsung SSD 870\n',
      'sys/block/sda/device/serial': 'S6PNNF0R123456\n',
      'sys/block/vda/size': '2048\n',
      'sys/block/vda/serial': 'virtio-serial-1\n',
      'sys/block/loop0/size': '8\n',
      'sys/block/zram0/size': '8\n',
      'sys/class/net/eth0/device/vendor': '0x8086\n',
    };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const sources = (): FactSources => ({
    root,
    hostname: () => 'scanner-01',
    kernelRelease: () => '5.15.0-100-generic',
    cpuCount: () => 4,
    networkInterfaces: () => ({
      br0: [{ address: '192.168.7.1', mac: '02:00:00:00:00:07', internal: false, family: 'IPv4', netmask: '255.255.255.0', cidr: null }],
      eth0: [{ address: '192.0.2.5', mac: 'aa:bb:cc:dd:ee:ff', internal: false, family: 'IPv4', netmask: '255.255.255.0', cidr: null }],
    }),
  });

  it('reads a host tree into contract-valid facts', async () => {
    const facts = await collectFacts(sources());
    expect(HardwareFactsSchema.parse(facts.hardware)).toEqual({
      vendor: 'Dell Inc.',
      model: 'PowerEdge R340',
      serial: null,
      cpu: { model: 'AMD EPYC 7302P', cores: 1, id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      ramBytes: 8000000 * 1024,
      disks: [
        { name: 'sda', model: 'Samsung SSD 870', serial: 'S6PNNF0R123456', sizeBytes: 512000 },
        { name: 'vda', model: null, serial: 'virtio-serial-1', sizeBytes: 2048 * 512 },
      ],
      os: { name: 'Ubuntu', version: '22.04', kernel: '5.15.0-100-generic' },
    });
    expect(facts.hostname).toBe('scanner-01');
    expect(facts.macs).toEqual(['aa:bb:cc:dd:ee:ff', '02:00:00:00:00:07']); // eth0 has a device: first
  });

  it('gives nulls and defaults on an empty tree', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'xspectre-facts-empty-'));
    try {
      const facts = await collectFacts({ ...sources(), root: empty });
      expect(HardwareFactsSchema.safeParse(facts.hardware).success).toBe(true);
      expect(facts.hardware).toMatchObject({
        vendor: null,
        model: null,
        serial: null,
        disks: [],
        os: { name: 'Linux', version: 'unknown' },
      });
      expect(facts.hardware.cpu).toEqual({ model: 'unknown', cores: 4, id: null });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('collects contract-valid facts from this machine', async () => {
    const facts = await collectFacts();
    expect(HardwareFactsSchema.safeParse(facts.hardware).error).toBeUndefined();
    const { hostname, localIps, macs, hardware } = facts;
    const hostPart = EnrollRequestSchema.pick({ hostname: true, localIps: true, macs: true, hardware: true }).safeParse({
      hostname,
      localIps,
      macs,
      hardware,
    });
    expect(hostPart.error).toBeUndefined();
  });

  it('reports an inventory with the NICs, whose MACs appear in the order enrollment fingerprints them', async () => {
    const report = await collectInventory();
    expect(InventoryReportSchema.safeParse(report).error).toBeUndefined();
    const nicMacs = report.nics!.map((n) => n.mac).filter((m): m is string => m !== null);
    expect([...new Set(nicMacs)]).toEqual(report.macs);
    expect(report.agentVersion).toBe(AGENT_VERSION);
  });
});
