import { Injectable } from '@nestjs/common';
import type { Heartbeat } from '@xspectre/contracts';
import { Database } from '../db/database.js';

@Injectable()
export class HeartbeatsRepository {
  constructor(private readonly db: Database) {}

  /** Inserts what is new; (device, sequence) already stored counts as a duplicate. Returns the sequences inserted. */
  async insertNew(deviceId: string, heartbeats: Heartbeat[], receivedAt: Date): Promise<Set<number>> {
    const inserted: Array<{ sequence: string }> = await this.db.manager().query(
      `INSERT INTO device_heartbeats (device_id, sequence, sent_at, received_at, uptime_seconds, agent_version)
       SELECT $1, h.sequence, h.sent_at, $2, h.uptime, h.agent_version
         FROM jsonb_to_recordset($3::jsonb) AS h(sequence bigint, sent_at timestamptz, uptime double precision, agent_version text)
       ON CONFLICT (device_id, sequence) DO NOTHING
       RETURNING sequence`,
      [
        deviceId,
        receivedAt,
        JSON.stringify(
          heartbeats.map((h) => ({ sequence: h.sequence, sent_at: h.sentAt, uptime: h.uptimeSeconds, agent_version: h.agentVersion })),
        ),
      ],
    );
    return new Set(inserted.map((row) => Number(row.sequence)));
  }

  /** Returns the highest sequence stored for the device, so an agent that lost its state can resync. */
  async touchDevice(deviceId: string, at: Date, lastSequence: number, agentVersion: string): Promise<number> {
    const [rows]: [Array<{ last_sequence: string }>, number] = await this.db.manager().query(
      `UPDATE devices SET last_heartbeat_at = $2, agent_version = $4,
              last_sequence = GREATEST(COALESCE(last_sequence, 0), $3)
        WHERE id = $1
        RETURNING last_sequence`,
      [deviceId, at, lastSequence, agentVersion],
    );
    return Number(rows[0]?.last_sequence ?? lastSequence);
  }
}
