import { describe, expect, it } from 'vitest';
import type { DiskHealth } from '@xspectre/contracts';
import { enrollBody } from '../../api/test/support/fleet.js';
import { eventually, useConsoleE2e } from './support/e2e.js';

/** The device page's inventory card shows each disk's SMART health; a failing disk turns red when it reports so. */
describe('console: disk health', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  const disk: DiskHealth = {
    device: '/dev/sda',
    protocol: 'ATA',
    model: 'WDC WD20EFRX-68EUZN0',
    serial: 'WD-WCC4E0DEAD01',
    health: 'passed',
    temperatureC: 33,
    powerOnHours: 41_000,
    reallocatedSectors: 0,
    pendingSectors: 0,
    mediaErrors: null,
    percentageUsed: null,
    criticalWarning: null,
    error: null,
  };

  it('shows passed and failing disks with temperature and hours', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-disks-01');
    const hardware = enrollBody('X').hardware;
    // No MACs: the fingerprint cannot be judged, so the device is not quarantined by this made-up hardware.
    const inventory = { ...hardware, agentVersion: '0.1.0' };
    const reading = (disks: DiskHealth[]) => ({ collectedAt: new Date().toISOString(), status: 'ok' as const, disks });
    await device.heartbeat({ inventory, diskHealth: reading([disk]) });
    await page.goto(`${e.web.url}/devices/${device.id}`);
    const table = page.getByTestId('disk-health');
    await table.waitFor();
    expect(await table.innerText()).toMatch(/\/dev\/sda[\s\S]*passed[\s\S]*33 °C[\s\S]*41,000 h/);

    // The disk starts failing: the live event refreshes the card.
    await device.heartbeat({ diskHealth: reading([{ ...disk, health: 'failed', reallocatedSectors: 2048 }]) });
    await eventually(() => table.innerText()).toMatch(/failing[\s\S]*2,048 reallocated/);
    await e.shot('disk-health-failing');
  });
});
