import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';
import { AuditFailureBudget } from './audit-failure-budget.js';
import { AuditAnchors } from './audit-anchors.js';
import { SealedFieldsResealer } from './sealed-fields-resealer.js';

@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditService, AuditFailureBudget, AuditAnchors, SealedFieldsResealer],
  exports: [AuditService, AuditFailureBudget],
})
export class AuditModule {}
