import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  IdParamSchema,
  ScannerListQuerySchema,
  ScannerPageSchema,
  ScannerSnapshotSchema,
  type ScannerListQuery,
} from '@xspectre/contracts';
import { RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { ScannersService } from './scanners.service.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('scanners')
@Controller()
export class ScannersController {
  constructor(private readonly scanners: ScannersService) {}

  @Get('scanners')
  @ApiSummary("Scanners' latest GMP reports, one row each (feeds, tasks, containers, versions, alerts), filtered and paged")
  @RequirePermission('devices.view')
  @ZodResponse(200, ScannerPageSchema)
  list(@ZodQuery(ScannerListQuerySchema) query: ScannerListQuery) {
    return this.scanners.list(query);
  }

  @Get('devices/:id/scanner')
  @ApiSummary("A scanner's latest GMP report, whole", { errors: ['DEVICE_NOT_FOUND', 'SCANNER_REPORT_NOT_FOUND'] })
  @RequirePermission('devices.view')
  @ZodResponse(200, ScannerSnapshotSchema)
  device(@ZodParams(IdParamSchema) params: Id) {
    return this.scanners.forDevice(params.id);
  }
}
