import { Injectable } from '@nestjs/common';
import type { DeviceType, OrganizationKind } from '@xspectre/contracts';
import { Database } from '../db/database.js';

/** An active device as the alert engine judges it. */
export interface AlertingDevice {
  id: string;
  name: string;
  organizationId: string;
  siteId: string;
  type: DeviceType;
  organizationKind: OrganizationKind;
  lastHeartbeatAt: Date | null;
  lastHandshakeAt: Date | null;
  agentVersion: string | null;
  enrolledAt: Date | null;
}

/**
 * A read-only projection of the devices table for the evaluation job. Its own query rather than
 * DevicesService: the worker runs the job and must not start the devices module's hub driver.
 */
@Injectable()
export class AlertingDevicesRepository {
  constructor(private readonly db: Database) {}

  active(): Promise<AlertingDevice[]> {
    return this.db.manager().query(
      `SELECT d.id, d.name, d.organization_id AS "organizationId", d.site_id AS "siteId", d.type, o.kind AS "organizationKind",
         d.last_heartbeat_at AS "lastHeartbeatAt", d.last_handshake_at AS "lastHandshakeAt", d.agent_version AS "agentVersion",
         d.enrolled_at AS "enrolledAt"
       FROM devices d JOIN organizations o ON o.id = d.organization_id
       WHERE d.status = 'active'`,
    ) as Promise<AlertingDevice[]>;
  }
}
