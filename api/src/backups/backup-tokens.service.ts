import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BACKUP_DEFAULT_KEEP_IMAGES,
  BACKUP_TOKEN_AUDIENCE,
  BACKUP_TOKEN_ISSUER,
  type AgentBackupTokenRequest,
  type AgentBackupTokenResponse,
  type BackupRunKind,
  type AnyBackupTokenOp,
  type BackupTokenOp,
  type DiskImageTokenOp,
} from '@xspectre/contracts';
import { signBackupToken } from '@xspectre/contracts/backup-token';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { KeyStore, type PublicKeyInfo } from '../keys/key-store.js';
import { BackupPoliciesRepository } from './backup-policies.repository.js';
import { BackupRunsRepository } from './backup-runs.repository.js';
import { repositoryUrl } from './repository-url.js';

/**
 * What each kind of run may do to its repository: a backup appends, then forgets and prunes by
 * the policy; a check and a restore only read. Nothing else gets a token.
 */
const OPS_OF_RUN: Record<BackupRunKind, readonly BackupTokenOp[]> = {
  backup: ['append', 'prune'],
  check: ['read'],
  restore: ['read'],
};
/** A run older than this gets no more tokens, whatever its status says. */
const RUN_TOKEN_WINDOW_MS = 24 * 3600 * 1000;

/** Repository tokens for the backup server: EdDSA JWS signed with the key store's `backup-tokens` key. */
@Injectable()
export class BackupTokensService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'API_BACKUP_SERVER_URL' | 'API_BACKUP_TOKEN_SECONDS'>,
    private readonly keys: KeyStore,
    private readonly runs: BackupRunsRepository,
    private readonly policies: BackupPoliciesRepository,
  ) {}

  /**
   * A token for the device's own run, for an operation that kind of run needs, while the run is
   * under way: for the device's own repository, or for a restore with a source (new hardware), for
   * the source device's repository, read-only.
   */
  async issueForRun(deviceId: string, request: AgentBackupTokenRequest, now = new Date()): Promise<AgentBackupTokenResponse> {
    const run = await this.runs.find(request.runId);
    if (!run || run.deviceId !== deviceId) throw new AppError('BACKUP_RUN_NOT_FOUND', `no backup run ${request.runId} of this device`);
    if (run.status !== 'scheduled' && run.status !== 'running') {
      throw new AppError('BACKUP_TOKEN_REFUSED', `backup run ${run.id} is ${run.status}`);
    }
    if (now.getTime() - run.createdAt.getTime() > RUN_TOKEN_WINDOW_MS) {
      throw new AppError('BACKUP_TOKEN_REFUSED', `backup run ${run.id} started over 24 hours ago`);
    }
    if (!OPS_OF_RUN[run.kind].includes(request.op)) {
      throw new AppError('BACKUP_TOKEN_REFUSED', `a ${run.kind} run gets ${OPS_OF_RUN[run.kind].join(' or ')} tokens, not ${request.op}`);
    }
    // A restore from another device's backups (new hardware) reads that device's repository, and
    // only that one: the token's subject is the source, whatever device asks.
    const source = run.kind === 'restore' ? (run.request?.source?.deviceId ?? null) : null;
    const repositoryDevice = source ?? deviceId;
    await this.runs.start(run.id, now);
    const issued = await this.sign(repositoryDevice, request.op, now);
    // The token itself is a credential: the audit keeps its id, never the token.
    requestContext.annotate({
      resourceId: deviceId,
      details: {
        runId: run.id,
        op: request.op,
        tokenId: issued.jti,
        expiresAt: issued.expiresAt,
        ...(source ? { repositoryDeviceId: source } : {}),
      },
    });
    return {
      token: issued.token,
      op: request.op,
      expiresAt: issued.expiresAt,
      repositoryUrl: repositoryUrl(this.config, repositoryDevice),
    };
  }

  /**
   * A token for the device's own full-disk images (`/disk-images/<deviceId>/…` on the backup
   * server), signed with the same `backup-tokens` key. The caller (api/src/disk-images) has
   * checked that a recovery command of this device needs the operation; the issuance is noted on
   * the request's audit row (the token's id, never the token). An `image-append` token carries
   * the device's policy of images to keep (BackupPolicy.keepImages): the backup server prunes
   * older ones after this upload's publish.
   */
  async issueDiskImageToken(
    deviceId: string,
    op: DiskImageTokenOp,
    now = new Date(),
  ): Promise<{ token: string; expiresAt: string; imagesUrl: string }> {
    const keepImages = op === 'image-append' ? ((await this.policies.find(deviceId))?.keepImages ?? BACKUP_DEFAULT_KEEP_IMAGES) : undefined;
    const issued = await this.sign(deviceId, op, now, keepImages);
    requestContext.annotate({
      resourceId: deviceId,
      details: { op, tokenId: issued.jti, expiresAt: issued.expiresAt, ...(keepImages === undefined ? {} : { keepImages }) },
    });
    const base = this.config.API_BACKUP_SERVER_URL.replace(/\/+$/, '');
    return { token: issued.token, expiresAt: issued.expiresAt, imagesUrl: `${base}/disk-images/${deviceId}/` };
  }

  /** The public keys the backup server verifies with (current and retiring). */
  publicKeys(): Promise<PublicKeyInfo[]> {
    return this.keys.validPublicKeys('backup-tokens');
  }

  private async sign(
    deviceId: string,
    op: AnyBackupTokenOp,
    now: Date,
    keepImages?: number,
  ): Promise<{ token: string; jti: string; expiresAt: string }> {
    const key = await this.keys.currentSigningKey('backup-tokens');
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.config.API_BACKUP_TOKEN_SECONDS;
    const jti = randomBytes(12).toString('base64url');
    const token = signBackupToken(key.privateKey, key.keyId, {
      iss: BACKUP_TOKEN_ISSUER,
      aud: BACKUP_TOKEN_AUDIENCE,
      sub: deviceId,
      op,
      iat,
      exp,
      jti,
      ...(keepImages === undefined ? {} : { keepImages }),
    });
    return { token, jti, expiresAt: new Date(exp * 1000).toISOString() };
  }
}
