import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AuditService } from '../audit/audit.service.js';
import { AccountsService } from '../auth/accounts.service.js';
import { Database } from '../db/database.js';

const BOOTSTRAP_LOCK_KEY = 0x5853_4244; // "XSBD": one instance creates the first admin

/** On first start with no users, creates the Super Admin named by API_BOOTSTRAP_ADMIN_*. */
@Injectable()
export class BootstrapAdmin implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapAdmin.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const email = this.config.API_BOOTSTRAP_ADMIN_EMAIL;
    const password = this.config.API_BOOTSTRAP_ADMIN_PASSWORD;
    await this.db.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      if ((await this.accounts.count()) > 0) return;
      if (!email || !password) {
        this.logger.warn('no operators exist and API_BOOTSTRAP_ADMIN_EMAIL/PASSWORD are not set: nobody can sign in');
        return;
      }
      const user = await this.accounts.create({ email, displayName: 'Bootstrap admin', role: 'super_admin', password });
      await this.audit.append(manager, {
        action: 'user.bootstrap_admin',
        resourceType: 'user',
        resourceId: user.id,
        result: 'success',
        userId: null,
        userEmail: 'system',
        details: { email: user.email, role: user.role },
      });
      this.logger.log({ msg: 'created the bootstrap Super Admin', email: user.email });
    });
  }
}
