import { Controller, Delete, Get, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreateUserSchema,
  IdParamSchema,
  LinkIdentityRequestSchema,
  ListUsersQuerySchema,
  UpdateUserSchema,
  UserIdentityParamsSchema,
  UserPageSchema,
  UserSchema,
} from '@xspectre/contracts';
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

  /** Lets an SSO login of that IdP subject sign in as this user (an existing local account is never taken over otherwise). */
  @Post(':id/identities')
  @ApiSummary('Link an SSO identity to a user', { errors: ['USER_NOT_FOUND', 'SSO_PROVIDER_NOT_FOUND', 'SSO_IDENTITY_TAKEN'] })
  @RequirePermission('users.manage')
  @Critical()
  @Audited('user.identity_link', 'user')
  @ZodResponse(201, UserSchema)
  linkIdentity(@ZodParams(IdParamSchema) params: Id, @ZodBody(LinkIdentityRequestSchema) body: z.infer<typeof LinkIdentityRequestSchema>) {
    return this.users.linkIdentity(params.id, body);
  }

  /** The user's sessions end (except the caller's own): one may have signed in through that identity. */
  @Delete(':id/identities/:identityId')
  @ApiSummary('Unlink an SSO identity from a user', { errors: ['USER_NOT_FOUND', 'SSO_IDENTITY_NOT_FOUND'] })
  @RequirePermission('users.manage')
  @Critical()
  @Audited('user.identity_unlink', 'user')
  @ZodResponse(200, UserSchema)
  unlinkIdentity(@ZodParams(UserIdentityParamsSchema) params: z.infer<typeof UserIdentityParamsSchema>, @CurrentActor() actor: Actor) {
    return this.users.unlinkIdentity(actor, params.id, params.identityId);
  }
}
