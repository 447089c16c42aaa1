import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  cleanHostname,
  cleanIdentifier,
  isDiskName,
  networkFacts,
  osFacts,
  parseBlockSize,
  parseCpuInfo,
  parseMemInfo,
  parseOsRelease,
} from './facts-parsers.js';

const X86_CPUINFO = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz
stepping\t: 7
microcode\t: 0x5003604
cpu cores\t: 2
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz
stepping\t: 7
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov
`;

const PI_CPUINFO = `processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

processor\t: 1
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

Hardware\t: BCM2835
Revision\t: c03111
Serial\t\t: 10000000a1b2c3d4
Model\t\t: Raspberry Pi 4 Model B Rev 1.1
`;

describe('parseCpuInfo', () => {
  it('reads model and logical CPU count on x86 and hashes the CPUID signature', () => {
    const cpu = parseCpuInfo(X86_CPUINFO, 99);
    expect(cpu.model).toBe('Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz');
    expect(cpu.cores).toBe(2);
    expect(cpu.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('keeps the x86 id when a kernel update adds flags', () => {
    const updated = X86_CPUINFO.replaceAll('mca cmov', 'mca cmov md_clear flush_l1d');
    expect(parseCpuInfo(updated, 1).id).toBe(parseCpuInfo(X86_CPUINFO, 1).id);
  });

  it('changes the id for a different CPU', () => {
    const other = X86_CPUINFO.replaceAll('stepping\t: 7', 'stepping\t: 4');
    expect(parseCpuInfo(other, 1).id).not.toBe(parseCpuInfo(X86_CPUINFO, 1).id);
  });

  it('uses the SoC serial on a Raspberry Pi', () => {
    expect(parseCpuInfo(PI_CPUINFO, 4)).toEqual({ model: 'Raspberry Pi 4 Model B Rev 1.1', cores: 2, id: '10000000a1b2c3d4' });
  });

  it('hashes the ARM signature without a serial, and ignores an all-zero serial', () => {
    const noSerial = PI_CPUINFO.replace('10000000a1b2c3d4', '0000000000000000');
    const cpu = parseCpuInfo(noSerial, 4);
    expect(cpu.id).toMatch(/^sha256:/);
    expect(cpu.id).toBe(parseCpuInfo(PI_CPUINFO.replace(/^Serial.*$/m, ''), 4).id);
  });

  it('falls back to the flags hash, then to null; cores to the fallback', () => {
    expect(parseCpuInfo('flags : fpu vme\n', 3)).toEqual({ model: 'unknown', cores: 3, id: expect.stringMatching(/^sha256:/) });
    expect(parseCpuInfo('', 0)).toEqual({ model: 'unknown', cores: 1, id: null });
  });
});

describe('parseMemInfo', () => {
  it('returns MemTotal in bytes', () => {
    expect(parseMemInfo('MemTotal:       16318480 kB\nMemFree:         1234 kB\n')).toBe(16318480 * 1024);
  });
  it('returns null without MemTotal', () => {
    expect(parseMemInfo('MemFree: 1 kB\n')).toBeNull();
  });
});

describe('parseOsRelease / osFacts', () => {
  const DEBIAN = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
HOME_URL="https://www.debian.org/"
`;

  it('parses quoted, single-quoted, escaped and bare values', () => {
    const vars = parseOsRelease(`${DEBIAN}X='single'\nY="say \\"hi\\" \\$x"\n# comment\nbad line\n`);
    expect(vars).toMatchObject({ NAME: 'Debian GNU/Linux', VERSION_ID: '12', ID: 'debian', X: 'single', Y: 'say "hi" $x' });
  });

  it('builds the os facts with the kernel release', () => {
    expect(osFacts(parseOsRelease(DEBIAN), '6.1.0-18-amd64')).toEqual({
      name: 'Debian GNU/Linux',
      version: '12',
      kernel: '6.1.0-18-amd64',
    });
  });

  it('falls back when fields are missing', () => {
    expect(osFacts(parseOsRelease('ID=arch\nBUILD_ID=rolling\n'), '')).toEqual({ name: 'arch', version: 'rolling', kernel: 'unknown' });
    expect(osFacts({}, '6.8')).toEqual({ name: 'Linux', version: 'unknown', kernel: '6.8' });
  });
});

describe('disks', () => {
  it('skips loop, ram and zram devices', () => {
    expect(['sda', 'nvme0n1', 'vda', 'mmcblk0', 'dm-0'].every(isDiskName)).toBe(true);
    expect(['loop0', 'loop12', 'ram0', 'zram0'].some(isDiskName)).toBe(false);
  });
  it('counts 512-byte sectors', () => {
    expect(parseBlockSize('976773168\n')).toBe(976773168 * 512);
    expect(parseBlockSize(null)).toBe(0);
    expect(parseBlockSize('garbage')).toBe(0);
  });
});

describe('cleanIdentifier', () => {
  it('turns firmware placeholders into null and trims real values', () => {
    for (const placeholder of [
      'To be filled by O.E.M.',
      'Default string',
      'System Serial Number',
      'Not Specified',
      '0000000',
      '  ',
      'N/A',
    ]) {
      expect(cleanIdentifier(`${placeholder}\n`, 120)).toBeNull();
    }
    expect(cleanIdentifier('  PF2ABCDE\n', 120)).toBe('PF2ABCDE');
    expect(cleanIdentifier('Dell\u0007 Inc.', 120)).toBe('Dell Inc.');
    expect(cleanIdentifier('x'.repeat(10) + 'y'.repeat(200), 120)).toHaveLength(120);
  });
});

describe('networkFacts', () => {
  const iface = (address: string, mac: string, internal = false): NetworkInterfaceInfo =>
    address.includes(':')
      ? { address, mac, internal, family: 'IPv6', netmask: 'ffff:ffff:ffff:ffff::', cidr: null, scopeid: 0 }
      : { address, mac, internal, family: 'IPv4', netmask: '255.255.255.0', cidr: null };

  it('skips loopback and all-zero MACs, dedupes, and puts physical NICs first', () => {
    const facts = networkFacts(
      {
        lo: [iface('127.0.0.1', '00:00:00:00:00:00', true), iface('::1', '00:00:00:00:00:00', true)],
        docker0: [iface('172.17.0.1', '02:42:AC:11:00:01')],
        eth0: [iface('192.0.2.10', '52:54:00:12:34:56'), iface('fe80::5054:ff:fe12:3456', '52:54:00:12:34:56')],
        wg0: [iface('10.10.0.21', '00:00:00:00:00:00')],
      },
      new Set(['eth0']),
    );
    expect(facts.macs).toEqual(['52:54:00:12:34:56', '02:42:ac:11:00:01']);
    expect(facts.localIps).toEqual(['192.0.2.10', 'fe80::5054:ff:fe12:3456', '172.17.0.1', '10.10.0.21']);
  });

  it('lists NICs without the bridges, veths and tunnels that containers create (their MACs stay in macs)', () => {
    const facts = networkFacts(
      {
        eth0: [iface('192.0.2.10', '52:54:00:12:34:56')],
        docker0: [iface('172.17.0.1', '02:42:ac:11:00:01')],
        veth1a2b3c: [iface('fe80::1', '7a:11:22:33:44:55')],
        'br-0f1e2d': [iface('172.18.0.1', '02:42:ac:12:00:01')],
        wg0: [iface('10.10.0.21', '00:00:00:00:00:00')],
        ens4: [iface('198.51.100.7', '52:54:00:aa:bb:cc')],
      },
      new Set(['eth0']),
    );
    expect(facts.nics).toEqual([
      { name: 'eth0', mac: '52:54:00:12:34:56', physical: true, addresses: ['192.0.2.10'] },
      { name: 'ens4', mac: '52:54:00:aa:bb:cc', physical: false, addresses: ['198.51.100.7'] },
    ]);
    expect(facts.macs).toContain('7a:11:22:33:44:55');
  });
});

describe('cleanHostname', () => {
  it('keeps valid hostnames and repairs others', () => {
    expect(cleanHostname('scanner-01.example.com')).toBe('scanner-01.example.com');
    expect(cleanHostname('my_host name')).toBe('my-host-name');
    expect(cleanHostname('---')).toBe('localhost');
  });
});
