import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AuditService } from './audit.service.js';
import { Database } from '../db/database.js';
import type { DerivedKeys } from '../common/crypto/secrets.js';
import { seal } from '../common/crypto/secrets.js';
import { keyringOf, unsealWithAny, type Keyring } from '../common/crypto/keyring.js';

/** Every column sealed with a key derived from API_SECRET_KEY (api/src/common/crypto/secrets.ts). */
const SEALED_COLUMNS: ReadonlyArray<{ name: string; table: string; column: string; purpose: keyof DerivedKeys }> = [
  { name: 'totpSecrets', table: 'users', column: 'totp_secret_sealed', purpose: 'fieldSeal' },
  { name: 'totpPendingSecrets', table: 'users', column: 'totp_pending_secret_sealed', purpose: 'fieldSeal' },
  { name: 'alertTargetSecrets', table: 'alert_targets', column: 'secret_sealed', purpose: 'alertTargetSeal' },
  { name: 'identityProviderSecrets', table: 'identity_providers', column: 'client_secret_sealed', purpose: 'ssoSecretSeal' },
];

const BATCH = 200;
/** One instance re-seals at a time ("XSRS"); the others find nothing left and record nothing. */
const RESEAL_LOCK_KEY = 0x5853_5253;

export interface ResealCounts {
  /** Values sealed with the previous key, now sealed with the current one, per column. */
  resealed: Record<string, number>;
  /** Values that neither key opens (sealed with a key that is neither): left as they are. */
  unreadable: Record<string, number>;
}

/**
 * While API_SECRET_KEY_PREVIOUS is set, seals again with the current key every sealed value that
 * only the previous key opens, read in batches, at boot (awaited: these tables hold one row per
 * operator, alert target or identity provider), in one transaction with its audit row. Idempotent: a value the current
 * key opens is left alone, so a second run changes nothing and records nothing. A run that changed
 * something is audited once as `secrets.resealed` with its counts, and then re-anchors the audit
 * chain (a verification and a checkpoint signed with the current key), so the checkpoints signed
 * with the previous key are no longer needed once it is dropped.
 */
@Injectable()
export class SealedFieldsResealer implements OnApplicationBootstrap {
  private readonly logger = new Logger(SealedFieldsResealer.name);
  private readonly ring: Keyring;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {
    this.ring = keyringOf(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.ring.previous) return;
    // A failure must not keep the API from starting: the values still open with either key, and the next boot tries again.
    await this.run().catch((error: unknown) =>
      this.logger.error({ msg: 're-sealing with the current secret key failed', err: (error as Error).message }),
    );
  }

  async run(): Promise<ResealCounts | null> {
    const previous = this.ring.previous;
    if (!previous) return null;
    const counts: ResealCounts = { resealed: {}, unreadable: {} };
    const ran = await this.db.detached(async (manager) => {
      // Released when this transaction ends.
      const [{ locked }] = (await manager.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [RESEAL_LOCK_KEY])) as [
        { locked: boolean },
      ];
      if (!locked) return false;
      for (const target of SEALED_COLUMNS) {
        const keys = [this.ring.current[target.purpose] as Buffer, previous[target.purpose] as Buffer];
        let after = '';
        for (;;) {
          const rows = (await manager.query(
            `SELECT id::text AS id, ${target.column} AS sealed FROM ${target.table}
              WHERE ${target.column} IS NOT NULL AND id::text > $1 ORDER BY id::text LIMIT ${BATCH}`,
            [after],
          )) as Array<{ id: string; sealed: string }>;
          if (rows.length === 0) break;
          after = rows[rows.length - 1]!.id;
          for (const row of rows) {
            let opened: { plaintext: string; stale: boolean };
            try {
              opened = unsealWithAny(keys, row.sealed);
            } catch {
              counts.unreadable[target.name] = (counts.unreadable[target.name] ?? 0) + 1;
              continue;
            }
            if (!opened.stale) continue;
            // Only if nobody changed it meanwhile (a new secret set during the run is sealed with the current key already).
            await manager.query(`UPDATE ${target.table} SET ${target.column} = $1 WHERE id::text = $2 AND ${target.column} = $3`, [
              seal(keys[0]!, opened.plaintext),
              row.id,
              row.sealed,
            ]);
            counts.resealed[target.name] = (counts.resealed[target.name] ?? 0) + 1;
          }
        }
      }
      const total = Object.values(counts.resealed).reduce((a, b) => a + b, 0);
      if (total > 0)
        await this.audit.append(manager, {
          action: 'secrets.resealed',
          resourceType: 'secret_key',
          result: 'success',
          userId: null,
          userEmail: 'system',
          details: { resealed: counts.resealed, unreadable: counts.unreadable },
        });
      return true;
    });
    if (!ran) return null;
    if (Object.keys(counts.resealed).length > 0) {
      this.logger.log({ msg: 'sealed values sealed again with the current secret key', ...counts });
      // Re-anchor: a verification result and a checkpoint signed with the current key.
      await this.audit.verifyChain();
    }
    if (Object.keys(counts.unreadable).length > 0)
      this.logger.warn({
        msg: 'sealed values that neither API_SECRET_KEY nor API_SECRET_KEY_PREVIOUS opens: set them again',
        ...counts.unreadable,
      });
    return counts;
  }
}
