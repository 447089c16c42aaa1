/**
 * The stand-in's data. It deliberately holds what the agent must never send (a scanned host,
 * ports, NVT names, result text) and puts it where gvmd does: targets' hosts, scanners' hosts,
 * report results and errors, task comments. Tests assert none of SENSITIVE_STRINGS reaches the
 * collected stats.
 */
export const SENSITIVE_HOST = '192.0.2.77';
export const SENSITIVE_PORT = '8443/tcp';
export const SENSITIVE_NVT = 'xspectre-fixture-nvt-Aq7';
export const SENSITIVE_RESULT = 'xspectre-fixture-result-Zt4: admin panel exposed';
export const SENSITIVE_SCANNER_HOST = '198.51.100.23';
export const SENSITIVE_HOSTNAME = 'db01.customer.example';
export const SENSITIVE_STRINGS = [
  SENSITIVE_HOST,
  SENSITIVE_PORT,
  SENSITIVE_NVT,
  SENSITIVE_RESULT,
  SENSITIVE_SCANNER_HOST,
  SENSITIVE_HOSTNAME,
  '9390',
];

export interface FixtureCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  log: number;
  falsePositive: number;
}

export interface FixtureTask {
  id: string;
  name: string;
  status: string;
  progress: number;
  /** Set while running. */
  currentReport: { id: string; scanStart: string } | null;
  lastReport: { id: string; scanStart: string; scanEnd: string; counts: FixtureCounts; errors: number } | null;
  averageDuration: number | null;
  icalendar: string | null;
  usageType: 'scan' | 'audit';
}

export interface FixtureScanner {
  id: string;
  name: string;
  type: string;
  host: string;
  port: string;
  version: string;
}

export interface GvmdFixture {
  tasks: FixtureTask[];
  scanners: FixtureScanner[];
  targets: number;
  credentials: number;
  feeds: Array<{ type: string; name: string; version: string }>;
}

const uuid = (prefix: string, n: number) => `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** A fixture with `taskCount` tasks: the first few cover every shape, the rest are plain finished scans. */
export function makeFixture(taskCount = 5): GvmdFixture {
  const tasks: FixtureTask[] = [];
  for (let i = 0; i < taskCount; i++) {
    const n = i + 1;
    const base: FixtureTask = {
      id: uuid('7a5c0b1e', n),
      name: `Weekly scan ${String(n).padStart(3, '0')}`,
      status: 'Done',
      progress: -1,
      currentReport: null,
      lastReport: {
        id: uuid('4e1f9d2a', n),
        scanStart: '2026-11-30T02:00:04Z',
        scanEnd: '2026-11-30T03:12:44+01:00',
        counts: { critical: 1, high: 3, medium: 7, low: 2, log: 40, falsePositive: 0 },
        errors: 2,
      },
      averageDuration: 4360,
      icalendar: null,
      usageType: 'scan',
    };
    if (i === 0) {
      base.name = 'Prüfung 🛰 Außenstelle';
      base.icalendar = [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Greenbone.net//NONSGML Greenbone Security Manager',
        'BEGIN:VEVENT',
        'DTSTART:20261101T020000Z',
        'DURATION:PT0S',
        'RRULE:FREQ=WEEKLY',
        'UID:fixture',
        'END:VEVENT',
        'END:VCALENDAR',
      ].join('\n');
    }
    if (i === 1) {
      base.status = 'Running';
      base.progress = 42;
      base.currentReport = { id: uuid('4e1f9d2b', n), scanStart: '2026-12-04T03:30:00Z' };
    }
    if (i === 2) {
      base.status = 'New';
      base.lastReport = null;
      base.averageDuration = null;
    }
    if (i === 3) base.usageType = 'audit';
    tasks.push(base);
  }
  return {
    tasks,
    scanners: [
      {
        id: '08b69003-5fc2-4037-a479-93b440211c73',
        name: 'OpenVAS Default',
        type: '2',
        host: '/run/ospd/ospd-openvas.sock',
        port: '0',
        version: 'OTP/2.0',
      },
      { id: '6acd0832-df90-11e4-b9d5-28d24461215b', name: 'CVE', type: '3', host: '', port: '0', version: '' },
      {
        id: 'a1b2c3d4-0000-4000-8000-00000000beef',
        name: 'Remote sensor',
        type: '2',
        host: SENSITIVE_SCANNER_HOST,
        port: '9390',
        version: '22.7.1',
      },
    ],
    targets: 12,
    credentials: 4,
    feeds: [
      { type: 'NVT', name: 'Greenbone Community Feed', version: '202612030705' },
      { type: 'SCAP', name: 'Greenbone Community SCAP Feed', version: '202612030215' },
      { type: 'CERT', name: 'Greenbone Community CERT Feed', version: '202612030430' },
      { type: 'GVMD_DATA', name: 'Greenbone Community gvmd Data Feed', version: '202612011011' },
    ],
  };
}
