import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import {
  AUDITED_ROUTE,
  CRITICAL_ROUTE,
  ROUTE_ACCESS,
  type AuditedRoute,
  type RouteAccess,
} from '../../src/common/http/route-access.decorators.js';

export interface DiscoveredRoute {
  method: string;
  /** Relative to /api/v1, with :params. */
  path: string;
  handler: string;
  access: RouteAccess | undefined;
  critical: boolean;
  audited: AuditedRoute | undefined;
}

/** Every HTTP route of the running app, with the metadata the access guard reads. */
export function discoverRoutes(app: INestApplication): DiscoveredRoute[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  const routes: DiscoveredRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
    if (!controller || !wrapper.instance) continue;
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, (...args: unknown[]) => unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name]!;
      const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (sub === undefined || method === undefined) continue;
      const targets = [handler, controller];
      routes.push({
        method: RequestMethod[method],
        path: [base, sub]
          .map((p) => p.replace(/^\/|\/$/g, ''))
          .filter(Boolean)
          .join('/'),
        handler: `${controller.name}.${name}`,
        access: reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, targets),
        critical: reflector.getAllAndOverride<boolean | undefined>(CRITICAL_ROUTE, targets) ?? false,
        audited: reflector.getAllAndOverride<AuditedRoute | undefined>(AUDITED_ROUTE, targets),
      });
    }
  }
  return routes;
}
