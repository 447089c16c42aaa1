import { describe, expect, it } from 'vitest';
import { DiskHealthReportSchema, MAX_SMART_DISKS, smartFailure, type DiskHealthReport } from '@xspectre/contracts';
import type { ProcessResult } from '../commands/run-process.js';
import type { Logger } from '../log.js';
import { parseSmartDisk, parseSmartScan } from './smart-parsers.js';
import { smartSummary } from '../recovery/actions.js';
import { readDiskHealth, SmartCollector, type SmartRunner } from './smart.js';

// Shaped like smartmontools 7.3's `smartctl -j -H -A -i` (trimmed to what matters plus some noise).
const ATA = {
  json_format_version: [1, 0],
  smartctl: { version: [7, 3], argv: ['smartctl', '-j', '-H', '-A', '-i', '-d', 'sat', '/dev/sda'], exit_status: 0 },
  device: { name: '/dev/sda', info_name: '/dev/sda [SAT]', type: 'sat', protocol: 'ATA' },
  model_family: 'Samsung based SSDs',
  model_name: 'Samsung SSD 860 EVO 500GB',
  serial_number: 'S3Z2NB0K123456A',
  firmware_version: 'RVT04B6Q',
  user_capacity: { blocks: 976773168, bytes: 500107862016 },
  smart_support: { available: true, enabled: true },
  smart_status: { passed: true },
  ata_smart_attributes: {
    revision: 1,
    table: [
      { id: 5, name: 'Reallocated_Sector_Ct', value: 100, worst: 100, thresh: 10, when_failed: '', raw: { value: 0, string: '0' } },
      { id: 9, name: 'Power_On_Hours', value: 95, worst: 95, thresh: 0, when_failed: '', raw: { value: 18234, string: '18234' } },
      { id: 190, name: 'Airflow_Temperature_Cel', value: 69, worst: 52, thresh: 0, raw: { value: 31, string: '31' } },
      { id: 197, name: 'Current_Pending_Sector', value: 100, worst: 100, thresh: 0, raw: { value: 0, string: '0' } },
    ],
  },
  power_on_time: { hours: 18234 },
  power_cycle_count: 1034,
  temperature: { current: 31 },
};

const NVME = {
  json_format_version: [1, 0],
  smartctl: { version: [7, 3], exit_status: 0 },
  device: { name: '/dev/nvme0', info_name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' },
  model_name: 'Samsung SSD 970 EVO Plus 1TB',
  serial_number: 'S4EWNX0R654321B',
  smart_support: { available: true, enabled: true },
  smart_status: { passed: true, nvme: { value: 0 } },
  nvme_smart_health_information_log: {
    critical_warning: 0,
    temperature: 38,
    available_spare: 100,
    available_spare_threshold: 10,
    percentage_used: 3,
    data_units_read: 48213377,
    power_cycles: 512,
    power_on_hours: 9120,
    unsafe_shutdowns: 40,
    media_errors: 0,
    num_err_log_entries: 12,
  },
  temperature: { current: 38 },
  power_on_time: { hours: 9120 },
};

const FAILING_ATA = {
  ...ATA,
  smartctl: {
    ...ATA.smartctl,
    exit_status: 8,
    messages: [{ string: 'SMART overall-health self-assessment: FAILED!', severity: 'warning' }],
  },
  serial_number: 'WD-WCC4E0DEAD01',
  model_name: 'WDC WD20EFRX-68EUZN0',
  smart_status: { passed: false },
  ata_smart_attributes: {
    revision: 16,
    table: [
      {
        id: 5,
        name: 'Reallocated_Sector_Ct',
        value: 1,
        worst: 1,
        thresh: 140,
        when_failed: 'FAILING_NOW',
        raw: { value: 2048, string: '2048' },
      },
      { id: 197, name: 'Current_Pending_Sector', value: 200, worst: 200, thresh: 0, raw: { value: 17, string: '17' } },
    ],
  },
};

const SCAN = {
  json_format_version: [1, 0],
  smartctl: { version: [7, 3], exit_status: 0 },
  devices: [
    { name: '/dev/sda', info_name: '/dev/sda [SAT]', type: 'sat', protocol: 'ATA' },
    { name: '/dev/nvme0', info_name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' },
  ],
};

const ok = (stdout: string, code = 0): ProcessResult => ({
  code,
  signal: null,
  stdout: Buffer.from(stdout),
  stderr: Buffer.alloc(0),
  stdoutCut: false,
  stderrCut: false,
});
const NOW = () => new Date('2026-12-05T10:00:00.000Z');
const silentLog = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

describe('parseSmartDisk', () => {
  it('reads an ATA disk: model, serial, health, temperature, hours, reallocated and pending sectors', () => {
    expect(parseSmartDisk('/dev/sda', JSON.stringify(ATA), 0)).toEqual({
      device: '/dev/sda',
      protocol: 'ATA',
      model: 'Samsung SSD 860 EVO 500GB',
      serial: 'S3Z2NB0K123456A',
      health: 'passed',
      temperatureC: 31,
      powerOnHours: 18234,
      reallocatedSectors: 0,
      pendingSectors: 0,
      mediaErrors: null,
      percentageUsed: null,
      criticalWarning: null,
      error: null,
    });
  });

  it('reads an NVMe disk: media errors, percentage used, critical warning', () => {
    const disk = parseSmartDisk('/dev/nvme0', JSON.stringify(NVME), 0);
    expect(disk).toMatchObject({
      protocol: 'NVMe',
      health: 'passed',
      temperatureC: 38,
      powerOnHours: 9120,
      mediaErrors: 0,
      percentageUsed: 3,
      criticalWarning: 0,
      reallocatedSectors: null,
    });
    expect(smartFailure(disk)).toBeNull();
    const spare = parseSmartDisk('/dev/nvme0', JSON.stringify({ ...NVME, nvme_smart_health_information_log: { critical_warning: 1 } }), 0);
    expect(smartFailure(spare)).toBe('NVMe critical warning 0x01');
    // Temperature alone (bit 1) is not a failing drive.
    const hot = parseSmartDisk('/dev/nvme0', JSON.stringify({ ...NVME, nvme_smart_health_information_log: { critical_warning: 2 } }), 0);
    expect(smartFailure(hot)).toBeNull();
  });

  it('a failing disk: FAILED self-assessment, many reallocated sectors', () => {
    const disk = parseSmartDisk('/dev/sdb', JSON.stringify(FAILING_ATA), 8);
    expect(disk).toMatchObject({ health: 'failed', reallocatedSectors: 2048, pendingSectors: 17, serial: 'WD-WCC4E0DEAD01' });
    expect(smartFailure(disk)).toBe('SMART health self-assessment FAILED');
    // PASSED but losing sectors: above the threshold counts as failing.
    const worn = parseSmartDisk('/dev/sdb', JSON.stringify({ ...FAILING_ATA, smart_status: { passed: true } }), 0);
    expect(worn.health).toBe('passed');
    expect(smartFailure(worn)).toBe('2065 reallocated and pending sectors (above 100)');
  });

  it("smartctl's exit bit 3 marks a disk failed even without smart_status", () => {
    const noStatus = { ...ATA, smart_status: undefined }; // dropped by JSON.stringify
    expect(parseSmartDisk('/dev/sda', JSON.stringify(noStatus), 8).health).toBe('failed');
    expect(parseSmartDisk('/dev/sda', JSON.stringify(noStatus), 0).health).toBe('unknown');
    expect(parseSmartDisk('/dev/sda', 'not json', 8)).toMatchObject({
      health: 'failed',
      error: 'smartctl gave no readable answer (exit 8)',
    });
  });

  it('truncated or hostile output: no exception, bounded strings, only finite in-range numbers', () => {
    const text = JSON.stringify(ATA);
    expect(parseSmartDisk('/dev/sda', text.slice(0, text.length / 2), 0)).toMatchObject({
      health: 'unknown',
      error: 'smartctl gave no readable answer (exit 0)',
    });
    const hostile = {
      device: { protocol: { evil: true } },
      model_name: `A\u0000\u001b[31mB${'x'.repeat(10_000)}`,
      serial_number: 42,
      smart_status: { passed: 'yes' },
      temperature: { current: 1e308 },
      power_on_time: { hours: -5 },
      ata_smart_attributes: { table: [{ id: 5, raw: { value: 2 ** 60 } }, null, 'x', { id: 197, raw: { value: 3.5 } }] },
      nvme_smart_health_information_log: { critical_warning: 999, percentage_used: Number.NaN, media_errors: '7' },
    };
    const disk = parseSmartDisk('/dev/sda', JSON.stringify(hostile).replace('1e+308', '1e999'), 0);
    expect(disk.protocol).toBe('unknown');
    expect(disk.model).toMatch(/^A\[31mBx+$/);
    expect(disk.model!.length).toBe(200);
    expect(disk).toMatchObject({
      serial: null,
      health: 'unknown',
      temperatureC: null,
      powerOnHours: null,
      criticalWarning: null,
      percentageUsed: null,
      mediaErrors: null,
    });
    expect(parseSmartDisk('/dev/sda', '[1,2,3]', 0).error).toMatch(/no readable answer/);
    expect(parseSmartDisk('/dev/sda', '{"a":'.repeat(100_000), 0).error).toMatch(/no readable answer/);
    expect(parseSmartDisk('/dev/sda', 'x'.repeat(2 * 1024 * 1024), 0).error).toMatch(/no readable answer/);
  });
});

describe('parseSmartScan', () => {
  it('lists the disks to read, refusing names and types that could be options', () => {
    const scan = {
      devices: [
        ...SCAN.devices,
        { name: '-a', type: 'sat' },
        { name: '/dev/../etc/passwd', type: 'sat' },
        { name: '/dev/sdc', type: '--foo' },
        { name: '/dev/sda', type: 'sat' },
        { name: '/dev/sdd', info_name: '/dev/sdd', type: 'scsi', open_error: '/dev/sdd: Permission denied' },
      ],
    };
    expect(parseSmartScan(JSON.stringify(scan))).toEqual({
      disks: [
        { name: '/dev/sda', type: 'sat' },
        { name: '/dev/nvme0', type: 'nvme' },
      ],
      openErrors: ['/dev/sdd: Permission denied'],
    });
    expect(parseSmartScan('{"devices": 5}')).toEqual({ disks: [], openErrors: [] });
    expect(parseSmartScan('garbage')).toBeNull();
  });

  it(`keeps at most ${MAX_SMART_DISKS} disks`, () => {
    const devices = Array.from({ length: 100 }, (_, i) => ({ name: `/dev/sd${i}`, type: 'sat' }));
    expect(parseSmartScan(JSON.stringify({ devices }))!.disks).toHaveLength(MAX_SMART_DISKS);
  });
});

describe('readDiskHealth', () => {
  it('scans, then reads each disk with -d <type> (argument arrays), a report inside the contract', async () => {
    const calls: string[][] = [];
    const run: SmartRunner = async (args) => {
      calls.push(args);
      if (args[0] === '--scan-open') return ok(JSON.stringify(SCAN));
      return args.at(-1) === '/dev/sda' ? ok(JSON.stringify(FAILING_ATA), 8) : ok(JSON.stringify(NVME));
    };
    const report = await readDiskHealth(run, NOW);
    expect(calls).toEqual([
      ['--scan-open', '-j'],
      ['-j', '-H', '-A', '-i', '-d', 'sat', '/dev/sda'],
      ['-j', '-H', '-A', '-i', '-d', 'nvme', '/dev/nvme0'],
    ]);
    expect(DiskHealthReportSchema.parse(report)).toEqual(report);
    expect(report.status).toBe('ok');
    expect(report.disks.map((d) => [d.device, d.health])).toEqual([
      ['/dev/sda', 'failed'],
      ['/dev/nvme0', 'passed'],
    ]);
  });

  it('smartctl missing, no permission, no SMART disk: unavailable with the reason', async () => {
    const missing = await readDiskHealth(async () => ({ ...ok(''), code: null, error: 'smartctl is not installed' }), NOW);
    expect(missing).toEqual({
      collectedAt: '2026-12-05T10:00:00.000Z',
      status: 'unavailable',
      reason: 'smartctl is not installed (package smartmontools)',
      disks: [],
    });
    const denied = await readDiskHealth(
      async () => ok(JSON.stringify({ devices: [{ name: '/dev/sda', type: 'scsi', open_error: '/dev/sda: Permission denied' }] }), 2),
      NOW,
    );
    expect(denied.status).toBe('unavailable');
    expect(denied.reason).toMatch(/^smartctl cannot open the disks \(\/dev\/sda: Permission denied\)/);
    const virtual = await readDiskHealth(async () => ok(JSON.stringify({ devices: [] })), NOW);
    expect(virtual.reason).toBe('no disk with SMART found (virtual disks have none)');
    const cut = await readDiskHealth(async () => ({ ...ok(JSON.stringify(SCAN)), stdoutCut: true }), NOW);
    expect(cut.status).toBe('unavailable');
  });

  it('a disk whose smartctl hangs is reported with the error; the others still go', async () => {
    const report = await readDiskHealth(async (args) => {
      if (args[0] === '--scan-open') return ok(JSON.stringify(SCAN));
      return args.at(-1) === '/dev/sda'
        ? { ...ok(''), code: null, signal: 'SIGKILL', error: 'timed out after 20000 ms' }
        : ok(JSON.stringify(NVME));
    }, NOW);
    expect(report.disks[0]).toMatchObject({ device: '/dev/sda', health: 'unknown', error: 'smartctl: timed out after 20000 ms' });
    expect(report.disks[1]).toMatchObject({ device: '/dev/nvme0', health: 'passed', error: null });
  });
});

describe('SmartCollector', () => {
  it('reads in the background at its interval; each reading is offered until acknowledged', async () => {
    let clock = 0;
    let reads = 0;
    const reading = (): DiskHealthReport => ({ collectedAt: NOW().toISOString(), status: 'ok', disks: [] });
    const collector = new SmartCollector(
      silentLog,
      async () => {
        reads++;
        return reading();
      },
      600_000,
      () => clock,
    );
    expect(collector.due()).toBeNull(); // the first reading has only started
    await collector.settled();
    const first = collector.due();
    expect(first?.diskHealth.status).toBe('ok');
    expect(collector.due()?.key).toBe(first!.key); // not yet acknowledged: offered again
    collector.acknowledged(first!.key);
    expect(collector.due()).toBeNull();
    expect(reads).toBe(1);
    clock = 600_000;
    collector.due();
    await collector.settled();
    expect(reads).toBe(2);
    expect(collector.due()?.key).toBe(first!.key + 1);
  });

  it('a reading that throws is logged and the next one is tried at the next interval', async () => {
    let clock = 0;
    const warnings: string[] = [];
    const log = { ...silentLog, warn: (msg: string) => warnings.push(msg) } as unknown as Logger;
    const collector = new SmartCollector(
      log,
      () => Promise.reject(new Error('boom')),
      1000,
      () => clock,
    );
    collector.due();
    await collector.settled();
    expect(collector.due()).toBeNull();
    expect(warnings).toEqual(['SMART reading failed']);
    clock = 1000;
    collector.due();
    await collector.settled();
    expect(warnings).toHaveLength(2);
  });
});

describe("the recovery stick's recovery.smart summary", () => {
  it('judges a disk like the periodic reading: a PASSED disk losing sectors is flagged failing', () => {
    expect(smartSummary('sda', JSON.stringify(ATA), 0)).toEqual({
      line: 'sda: PASSED model="Samsung SSD 860 EVO 500GB" temperature=31C power_on_hours=18234',
      failing: false,
    });
    expect(smartSummary('sdb', JSON.stringify({ ...FAILING_ATA, smart_status: { passed: true } }), 0)).toEqual({
      line: 'sdb: PASSED model="WDC WD20EFRX-68EUZN0" temperature=31C power_on_hours=18234 failing="2065 reallocated and pending sectors (above 100)"',
      failing: true,
    });
    expect(smartSummary('nvme0n1', JSON.stringify(NVME), 0).failing).toBe(false);
  });
});
