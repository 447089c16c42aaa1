import { Controller, Get, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { CreateUserSchema, IdParamSchema, ListUsersQuerySchema, UpdateUserSchema, UserPageSchema, UserSchema } from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { UsersService } from './users.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiSummary('List users')
  @RequirePermission('users.manage')
  @ZodResponse(200, UserPageSchema)
  list(@ZodQuery(ListUsersQuerySchema) query: z.infer<typeof ListUsersQuerySchema>) {
    return this.users.list(query);
  }

  @Post()
  @ApiSummary('Create a user')
  @RequirePermission('users.manage')
  @Audited('user.create', 'user')
  @ZodResponse(201, UserSchema)
  create(@ZodBody(CreateUserSchema) body: z.infer<typeof CreateUserSchema>, @CurrentActor() actor: Actor) {
    return this.users.create(actor, body);
  }

  @Get(':id')
  @ApiSummary('Get a user')
  @RequirePermission('users.manage')
  @ZodResponse(200, UserSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.users.get(params.id);
  }

  @Patch(':id')
  @ApiSummary('Change a user (role, status, name)')
  @RequirePermission('users.manage')
  @Audited('user.update', 'user')
  @ZodResponse(200, UserSchema)
  update(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(UpdateUserSchema) body: z.infer<typeof UpdateUserSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.users.update(actor, params.id, body);
  }

  @Post(':id/unlock')
  @ApiSummary('Unlock a locked account')
  @RequirePermission('users.manage')
  @Critical()
  @Audited('user.unlock', 'user')
  @ZodResponse(201, UserSchema)
  unlock(@ZodParams(IdParamSchema) params: Id) {
    return this.users.unlock(params.id);
  }

  @Post(':id/totp/reset')
  @ApiSummary("Reset a user's two-factor authentication")
  @RequirePermission('users.manage')
  @Critical()
  @Audited('user.totp_reset', 'user')
  @ZodResponse(201, UserSchema)
  resetTotp(@ZodParams(IdParamSchema) params: Id) {
    return this.users.resetTotp(params.id);
  }
}
