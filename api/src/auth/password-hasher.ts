import { Inject, Injectable } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { PASSWORD_MAX_BYTES } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';

@Injectable()
export class PasswordHasher {
  /**
   * Compared against when the account does not exist, so both paths cost one bcrypt compare at
   * the configured cost. Made at construction: made at the first unknown email, it would make
   * that answer cost a hash on top (measurably slower than a wrong password for an account).
   */
  private readonly dummyHash: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.dummyHash = bcrypt.hash('timing-equalizer-not-a-password', config.API_BCRYPT_COST);
  }

  hash(password: string): Promise<string> {
    if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) throw new Error('password longer than bcrypt can take');
    return bcrypt.hash(password, this.config.API_BCRYPT_COST);
  }

  /** False for passwords bcrypt would truncate: they could never have been set. */
  async verify(password: string, hash: string | null): Promise<boolean> {
    const tooLong = Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES;
    const ok = await bcrypt.compare(tooLong ? '' : password, hash ?? (await this.dummyHash));
    return ok && !tooLong && hash !== null;
  }
}
