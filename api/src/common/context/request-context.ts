import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from 'typeorm';
import type { Role } from '@xspectre/contracts';

/** Who is acting: set by the auth guard once the session is checked. */
export interface Actor {
  userId: string;
  email: string;
  role: Role;
  sessionId: string;
  stepUpAt: Date | null;
  /** How the session signed in (absent = password): SSO sessions step up at their identity provider. */
  authMethod?: 'password' | 'sso';
  ssoProviderId?: string | null;
}

/** What services add to the audit row of the current request. */
export interface AuditAnnotations {
  action?: string;
  resourceId?: string;
  details?: Record<string, unknown>;
  /** For requests made before a session exists (login): who the request concerned. */
  subjectUserId?: string;
  subjectEmail?: string;
}

/** An agent request's device, as the access guard found it. */
export interface AuthenticatedDevice {
  id: string;
  overlayAddress: string;
}

/** A recovery agent's request: the recovery medium (stick) and the device it is bound to (set by the access guard). */
export interface AuthenticatedRecovery {
  mediumId: string;
  deviceId: string;
}

/** A service request's credential, as the access guard found it. */
export interface AuthenticatedService {
  credentialId: string;
  service: string;
  name: string;
}

export interface RequestContext {
  requestId: string;
  sourceIp: string | null;
  actor?: Actor;
  /** The audit action of the matched route, when it records one (set by the access guard). */
  auditedRoute?: { action: string; resourceType: string; notAudited?: string };
  /** The device of an agent request (set by the access guard). */
  device?: AuthenticatedDevice;
  /** The recovery medium of a recovery agent's request (set by the access guard). */
  recovery?: AuthenticatedRecovery;
  /** The service of a service request (set by the access guard). */
  service?: AuthenticatedService;
  manager?: EntityManager;
  /** Which pool serves this flow when no transaction is open (db/database.ts): devices' work runs on its own. */
  dbLane?: 'devices';
  audit: AuditAnnotations;
  /** Run by the unit of work once the request transaction has committed. */
  afterCommit?: Array<() => Promise<void>>;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run<T>(ctx: RequestContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  /** Enters a context for the rest of the current async flow (used from a fastify hook). */
  enter(ctx: RequestContext): void {
    storage.enterWith(ctx);
  },
  get(): RequestContext | undefined {
    return storage.getStore();
  },
  /** Queues work for after the request commits (outside a request, runs it at once). */
  afterCommit(fn: () => Promise<void>): void {
    const ctx = storage.getStore();
    if (ctx?.afterCommit) ctx.afterCommit.push(fn);
    else void fn().catch(() => undefined);
  },
  /** Mutates in place: contexts copied for a transaction share the same annotations object. */
  annotate(annotations: AuditAnnotations): void {
    const ctx = storage.getStore();
    if (!ctx) return;
    const details = { ...ctx.audit.details, ...annotations.details };
    Object.assign(ctx.audit, annotations, { details });
  },
};
