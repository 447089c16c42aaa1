import { access, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { HardwareFacts, Nic } from '@xspectre/contracts';
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

export interface HostFacts {
  hostname: string;
  localIps: string[];
  macs: string[];
  nics: Nic[];
  hardware: HardwareFacts;
}

/** Where facts come from; tests point `root` at a fake tree and replace the os calls. */
export interface FactSources {
  root: string;
  hostname: () => string;
  kernelRelease: () => string;
  cpuCount: () => number;
  networkInterfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

export const HOST_SOURCES: FactSources = {
  root: '/',
  hostname: () => os.hostname(),
  kernelRelease: () => os.release(),
  cpuCount: () => os.cpus().length,
  networkInterfaces: () => os.networkInterfaces(),
};

/** Collects what enrollment sends about the host. Unreadable sources give null/empty, never an error. */
export async function collectFacts(sources: FactSources = HOST_SOURCES): Promise<HostFacts> {
  const at = (...parts: string[]) => join(sources.root, ...parts);
  const dmi = (name: string) => readOptional(at('sys/class/dmi/id', name));

  const [vendor, model, serial, cpuinfo, meminfo, osRelease, disks, physical] = await Promise.all([
    dmi('sys_vendor'),
    dmi('product_name'),
    dmi('product_serial'),
    readOptional(at('proc/cpuinfo')),
    readOptional(at('proc/meminfo')),
    readOptional(at('etc/os-release')).then(async (text) => text ?? (await readOptional(at('usr/lib/os-release')))),
    collectDisks(at('sys/block')),
    physicalInterfaces(at('sys/class/net'), Object.keys(sources.networkInterfaces())),
  ]);

  const network = networkFacts(sources.networkInterfaces(), physical);
  return {
    hostname: cleanHostname(sources.hostname()),
    localIps: network.localIps,
    macs: network.macs,
    nics: network.nics,
    hardware: {
      vendor: cleanIdentifier(vendor, 120),
      model: cleanIdentifier(model, 120),
      serial: cleanIdentifier(serial, 120),
      cpu: parseCpuInfo(cpuinfo ?? '', sources.cpuCount()),
      ramBytes: parseMemInfo(meminfo ?? '') ?? os.totalmem(),
      disks,
      os: osFacts(parseOsRelease(osRelease ?? ''), sources.kernelRelease()),
    },
  };
}

async function collectDisks(sysBlock: string): Promise<HardwareFacts['disks']> {
  const names = (await readdir(sysBlock).catch(() => [] as string[])).filter(isDiskName).sort();
  const disks = await Promise.all(
    names.slice(0, 64).map(async (name) => {
      const dir = join(sysBlock, name);
      const [size, model, serial, ownSerial] = await Promise.all([
        readOptional(join(dir, 'size')),
        readOptional(join(dir, 'device/model')),
        readOptional(join(dir, 'device/serial')),
        readOptional(join(dir, 'serial')), // virtio disks keep it here
      ]);
      return {
        name,
        model: cleanIdentifier(model, 200),
        serial: cleanIdentifier(serial ?? ownSerial, 200),
        sizeBytes: parseBlockSize(size),
      };
    }),
  );
  return disks;
}

/** Interfaces backed by a device (`/sys/class/net/<if>/device` exists): real NICs, not bridges/veths. */
async function physicalInterfaces(sysClassNet: string, names: string[]): Promise<Set<string>> {
  const found = await Promise.all(
    names.map(async (name) =>
      access(join(sysClassNet, name, 'device'))
        .then(() => name)
        .catch(() => null),
    ),
  );
  return new Set(found.filter((n): n is string => n !== null));
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}
