import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';

export interface TunnelPeer {
  deviceId: string;
  publicKey: string;
  address: string;
}

export interface TunnelStats {
  publicKey: string;
  lastHandshakeAt: Date | null;
  rxBytes: number;
  txBytes: number;
  endpoint: string | null;
}

/** The hub's view of the devices table: which peers it must have, and their counters from `wg show`. */
@Injectable()
export class TunnelPeersRepository {
  constructor(private readonly db: Database) {}

  /** Peers the hub must have: every active device with a key and an address. */
  async activeTunnelPeers(): Promise<TunnelPeer[]> {
    const rows: Array<{ id: string; wg_public_key: string; overlay_address: string }> = await this.db
      .manager()
      .query(
        `SELECT id, wg_public_key, overlay_address FROM devices WHERE status = 'active' AND wg_public_key IS NOT NULL AND overlay_address IS NOT NULL`,
      );
    return rows.map((r) => ({ deviceId: r.id, publicKey: r.wg_public_key, address: r.overlay_address }));
  }

  /** Stores the hub's counters; returns the devices whose latest handshake changed. */
  async recordTunnelStats(stats: TunnelStats[]): Promise<Array<{ id: string; lastHandshakeAt: Date | null }>> {
    if (stats.length === 0) return [];
    // `before` is the same table read in the statement's snapshot, i.e. the values before this update.
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [Array<{ id: string; last_handshake_at: Date | null; handshake_changed: boolean }>, number] = await this.db
      .manager()
      .query(
        `UPDATE devices d
          SET last_handshake_at = s.handshake, rx_bytes = s.rx, tx_bytes = s.tx, tunnel_endpoint = s.endpoint
         FROM jsonb_to_recordset($1::jsonb) AS s(key text, handshake timestamptz, rx bigint, tx bigint, endpoint text),
              devices before
        WHERE d.wg_public_key = s.key AND before.id = d.id
        RETURNING d.id, d.last_handshake_at, before.last_handshake_at IS DISTINCT FROM s.handshake AS handshake_changed`,
        [
          JSON.stringify(
            stats.map((s) => ({ key: s.publicKey, handshake: s.lastHandshakeAt, rx: s.rxBytes, tx: s.txBytes, endpoint: s.endpoint })),
          ),
        ],
      );
    return rows.filter((r) => r.handshake_changed).map((r) => ({ id: r.id, lastHandshakeAt: r.last_handshake_at }));
  }
}
