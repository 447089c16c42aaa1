import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, it } from 'vitest';
import plugin from './feature-boundaries.mjs';

// RuleTester defaults to mocha's globals; hand it vitest's.
RuleTester.afterAll = afterAll;
RuleTester.describe = describe;
RuleTester.it = it;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' } });
const rule = plugin.rules['feature-boundaries'];
// Any checkout location: the rule finds the api/src/ segment.
const at = (rel: string) => `/repo/api/src/${rel}`;

tester.run('feature-boundaries', rule, {
  valid: [
    // Layers: downward into platform and lower features.
    { filename: at('devices/devices.service.ts'), code: "import { x } from '../common/errors/problem.js';" },
    {
      filename: at('devices/devices.service.ts'),
      code: "import { OrganizationsService } from '../organizations/organizations.service.js';",
    },
    { filename: at('common/http/x.ts'), code: "import { loadConfig } from '../../config/config.js';" },
    { filename: '/elsewhere/checkout/api/src/ingest/a.ts', code: "export { DevicesService } from '../devices/devices.service.js';" },
    { filename: at('health/health.module.ts'), code: "export * from '../telemetry/metrics.service.js';" },
    { filename: at('inventory/inventory.service.ts'), code: "const m = await import('../devices/devices.service.js');" },
    // Same folder, including its own repository and entity.
    { filename: at('devices/devices.service.ts'), code: "import { DevicesRepository } from './devices.repository.js';" },
    { filename: at('common/http/a.ts'), code: "import { b } from '../context/b.js';" },
    // Composition roots directly in api/src are unrestricted, entities included.
    { filename: at('app.module.ts'), code: "import { WorkerModule } from './worker/worker.module.js';" },
    { filename: at('entities.ts'), code: "import { Device } from './devices/device.entity.js';" },
    // A file directly in api/src is not a folder; leaving api/src and bare packages are allowed.
    { filename: at('health/health.controller.ts'), code: "import { API_VERSION } from '../version.js';" },
    { filename: at('devices/x.ts'), code: "import pkg from '../../package.json' with { type: 'json' };" },
    {
      filename: at('devices/x.ts'),
      code: "import { Injectable } from '@nestjs/common'; import { randomUUID } from 'node:crypto'; import { z } from '@xspectre/contracts';",
    },
    // Files outside api/src are not checked, and a computed import cannot be judged.
    { filename: '/repo/api/test/a.spec.ts', code: "import { x } from '../src/ingest/heartbeats.service.js';" },
    { filename: at('devices/x.ts'), code: 'const m = await import(name);' },
  ],
  invalid: [
    // Rule 1: upward, sideways, platform importing a feature.
    {
      filename: at('devices/devices.service.ts'),
      code: "import { InventoryService } from '../inventory/inventory.service.js';",
      errors: [{ message: /^\[layers\] devices \(layer 8\) -> inventory \(layer 9\): upward import;.*Move the shared code down/ }],
    },
    {
      filename: at('inventory/inventory.service.ts'),
      code: "import { MetricsService } from '../telemetry/metrics.service.js';",
      errors: [{ message: /^\[layers\] inventory \(layer 9\) -> telemetry \(layer 9\): sideways import/ }],
    },
    {
      filename: at('db/entities.ts'),
      code: "import { Device } from '../devices/device.entity.js';",
      errors: [{ message: /^\[layers\] db \(layer 2\) -> devices \(layer 8\): upward/ }],
    },
    {
      filename: at('common/http/x.ts'),
      code: "export { AuditService } from '../../audit/audit.service.js';",
      errors: [{ message: /^\[layers\] common \(layer 1\) -> audit/ }],
    },
    {
      filename: at('auth/a.ts'),
      code: "export * from '../users/users.service.js';",
      errors: [{ message: /^\[layers\] auth \(layer 4\) -> users \(layer 5\): upward/ }],
    },
    {
      filename: at('devices/a.ts'),
      code: "const m = await import('../ingest/heartbeats.service.js');",
      errors: [{ message: /^\[layers\] devices .* -> ingest/ }],
    },
    {
      filename: at('devices/a.ts'),
      code: "type H = import('../ingest/heartbeats.service.js').HeartbeatsService;",
      errors: [{ message: /^\[layers\] devices .* -> ingest/ }],
    },
    // Rule 2: a folder missing from the table, as importer, as target, even from a composition root.
    {
      filename: at('agent-api/agent-api.module.ts'),
      code: "import { x } from '../common/errors/problem.js';",
      errors: [
        {
          message:
            /^\[unknown-folder\] agent-api -> common: folder 'agent-api' is not in the layer table; add it to LAYERS in api\/lint\/layers\.mjs/,
        },
      ],
    },
    {
      filename: at('ingest/a.ts'),
      code: "import { x } from '../agent-api/x.js';",
      errors: [{ message: /^\[unknown-folder\] ingest -> agent-api: folder 'agent-api'/ }],
    },
    {
      filename: at('app.module.ts'),
      code: "import { AgentApiModule } from './agent-api/agent-api.module.js';",
      errors: [{ message: /^\[unknown-folder\] api\/src root -> agent-api/ }],
    },
    // Rule 3: another folder's repository or entity, even where the layer allows it, type-only too.
    {
      filename: at('devices/devices.service.ts'),
      code: "import { OrganizationsRepository } from '../organizations/organizations.repository.js';",
      errors: [
        { message: /^\[storage\] devices -> organizations: 'organizations\.repository\.js' .*import the feature's service instead/ },
      ],
    },
    {
      filename: at('devices/devices.service.ts'),
      code: "import type { Organization } from '../organizations/organization.entity.js';",
      errors: [{ message: /^\[storage\] devices -> organizations: 'organization\.entity\.js'/ }],
    },
    {
      filename: at('worker/worker.module.ts'),
      code: "export { ConnectivityRepository } from '../telemetry/connectivity.repository.js';",
      errors: [{ message: /^\[storage\] worker -> telemetry/ }],
    },
    // Each import is judged on its own.
    {
      filename: '/x/api/src/hub/hub.service.ts',
      code: "import { a } from '../devices/a.js';\nimport { b } from '../db/database.js';\nimport { c } from '../hub/c.js';",
      errors: [{ message: /^\[layers\] hub \(layer 7\) -> devices \(layer 8\)/, line: 1 }],
    },
  ],
});
