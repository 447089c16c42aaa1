import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { CreateServiceCredential, ServiceCredential, ServiceKind } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor, type AuthenticatedService } from '../common/context/request-context.js';
import { sha256Hex } from '../common/crypto/secrets.js';
import type { ServiceCredentialEntity } from './service-credential.entity.js';
import { ServiceCredentialsRepository } from './service-credentials.repository.js';

const SECRET_PREFIX = 'xs_svc_';
const BEARER = /^Bearer\s+(xs_svc_[A-Za-z0-9_-]{43})$/;

/** Credentials of the product's own services: created by a Super Admin, shown once, checked per request. */
@Injectable()
export class ServiceCredentialsService {
  constructor(private readonly credentials: ServiceCredentialsRepository) {}

  async create(actor: Actor, input: CreateServiceCredential): Promise<ServiceCredential & { secret: string }> {
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: ServiceCredentialEntity = {
      id: randomUUID(),
      service: input.service,
      name: input.name,
      secretHash: sha256Hex(secret),
      createdBy: actor.email,
      createdAt: new Date(),
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.credentials.insert(row);
    requestContext.annotate({ resourceId: row.id, details: { service: row.service, name: row.name } });
    return { ...toDto(row), secret };
  }

  async list(): Promise<ServiceCredential[]> {
    return (await this.credentials.list()).map(toDto);
  }

  async revoke(id: string): Promise<ServiceCredential> {
    const row = await this.credentials.find(id);
    if (!row) throw new AppError('SERVICE_CREDENTIAL_NOT_FOUND', `no service credential with id ${id}`);
    if (!row.revokedAt) await this.credentials.revoke(id, new Date());
    requestContext.annotate({ resourceId: id, details: { service: row.service, name: row.name } });
    return toDto((await this.credentials.find(id))!);
  }

  /** The access guard's check for `service` routes: a live credential of exactly that service kind. */
  async authenticate(request: FastifyRequest, service: ServiceKind): Promise<AuthenticatedService> {
    const header = request.headers.authorization;
    if (!header) throw new AppError('SERVICE_AUTH_REQUIRED');
    const match = BEARER.exec(header);
    if (!match) throw new AppError('SERVICE_AUTH_INVALID', `send the ${service} credential as "Authorization: Bearer xs_svc_…"`);
    const row = await this.credentials.findBySecretHash(sha256Hex(match[1]!));
    if (!row || row.revokedAt || row.service !== service) throw new AppError('SERVICE_AUTH_INVALID');
    await this.credentials.touch(row.id, new Date());
    return { credentialId: row.id, service: row.service, name: row.name };
  }
}

function toDto(row: ServiceCredentialEntity): ServiceCredential {
  return {
    id: row.id,
    service: row.service,
    name: row.name,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
