import { Inject, Injectable } from '@nestjs/common';
import { generateSecret, generateURI, verify } from 'otplib';
import { randomInt } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import type { UserEntity } from './user.entity.js';
import { UsersRepository } from './users.repository.js';
import { BreakGlass } from './break-glass.js';
import { PasswordHasher } from './password-hasher.js';
import { seal, sha256Hex } from '../common/crypto/secrets.js';
import { keyringOf, keysFor, unsealWithAny } from '../common/crypto/keyring.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';

const ISSUER = 'xSPECTRE Ops';
const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** One 30 s step either side, for clock drift between phone and server. */
const EPOCH_TOLERANCE_SECONDS = 30;

export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/-/g, '');
}

function newRecoveryCode(): string {
  const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

@Injectable()
export class TotpService {
  private readonly sealKey: Buffer;
  /** The current key, then API_SECRET_KEY_PREVIOUS's during a rotation (api/src/audit/sealed-fields-resealer.ts seals again with the current one). */
  private readonly openKeys: Buffer[];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly users: UsersRepository,
    private readonly settings: SecuritySettingsService,
    private readonly hasher: PasswordHasher,
    private readonly db: Database,
    private readonly breakGlass: BreakGlass,
  ) {
    const ring = keyringOf(config);
    this.sealKey = ring.current.fieldSeal;
    this.openKeys = keysFor(ring, 'fieldSeal');
  }

  private open(sealed: string): string {
    return unsealWithAny(this.openKeys, sealed).plaintext;
  }

  async setup(user: UserEntity): Promise<{ otpauthUri: string; secret: string }> {
    if (user.totpEnabled) throw new AppError('AUTH_TOTP_ALREADY_ENABLED', 'disable two-factor authentication before setting it up again');
    const secret = generateSecret();
    await this.users.update(user.id, { totpPendingSecretSealed: seal(this.sealKey, secret) });
    return { otpauthUri: generateURI({ issuer: ISSUER, label: user.email, secret }), secret };
  }

  /** Turns TOTP on once the first code from the new secret checks out; returns fresh recovery codes. */
  async enable(user: UserEntity, code: string): Promise<string[]> {
    if (user.totpEnabled) throw new AppError('AUTH_TOTP_ALREADY_ENABLED');
    if (!user.totpPendingSecretSealed) throw new AppError('AUTH_TOTP_NOT_STARTED', 'call auth/totp/setup first');
    const result = await verify({
      secret: this.open(user.totpPendingSecretSealed),
      token: code,
      epochTolerance: EPOCH_TOLERANCE_SECONDS,
    });
    if (!result.valid || !('timeStep' in result))
      throw new AppError('AUTH_TOTP_INVALID', 'the code does not match the new secret: check the phone clock and try the next code');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.db.transaction(async () => {
      await this.users.update(user.id, {
        totpSecretSealed: user.totpPendingSecretSealed,
        totpPendingSecretSealed: null,
        totpEnabled: true,
        totpLastStep: String(result.timeStep),
      });
      await this.users.replaceRecoveryCodes(
        user.id,
        codes.map((c) => sha256Hex(normalizeRecoveryCode(c))),
      );
    });
    requestContext.annotate({ action: 'auth.totp_enabled', resourceId: user.id });
    return codes;
  }

  async disable(user: UserEntity, code: string, password: string): Promise<void> {
    if (!user.totpEnabled) throw new AppError('AUTH_TOTP_NOT_ENABLED');
    if ((await this.settings.get()).requireTotp)
      throw new AppError('AUTH_TOTP_REQUIRED_BY_POLICY', 'a Super Admin requires two-factor authentication for everyone');
    // Before the code is checked: a refused change burns no code.
    await this.breakGlass.assertAnotherRemains(user.id);
    if (!(await this.hasher.verify(password, user.passwordHash))) throw new AppError('AUTH_INVALID_CREDENTIALS', 'the password is wrong');
    if (!(await this.verifyCode(user, code))) throw new AppError('AUTH_TOTP_INVALID');
    await this.clear(user.id);
    requestContext.annotate({ action: 'auth.totp_disabled', resourceId: user.id });
  }

  /** Clears TOTP and recovery codes (own disable, or an administrator's reset for a lost phone). */
  async clear(userId: string): Promise<void> {
    await this.db.transaction(async () => {
      await this.users.update(userId, { totpSecretSealed: null, totpPendingSecretSealed: null, totpEnabled: false, totpLastStep: null });
      await this.users.replaceRecoveryCodes(userId, []);
    });
  }

  /** Checks a code and burns its time step, so the same code never works twice. */
  async verifyCode(user: UserEntity, code: string): Promise<boolean> {
    if (!user.totpEnabled || !user.totpSecretSealed) return false;
    const result = await verify({
      secret: this.open(user.totpSecretSealed),
      token: code,
      epochTolerance: EPOCH_TOLERANCE_SECONDS,
      ...(user.totpLastStep !== null ? { afterTimeStep: Number(user.totpLastStep) } : {}),
    });
    if (!result.valid || !('timeStep' in result)) return false;
    return this.users.consumeTotpStep(user.id, result.timeStep);
  }

  useRecoveryCode(userId: string, code: string): Promise<boolean> {
    return this.users.consumeRecoveryCode(userId, sha256Hex(normalizeRecoveryCode(code)));
  }
}
