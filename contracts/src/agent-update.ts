import { z } from 'zod';
import { Sha256HexSchema } from './scripts.js';

/**
 * `agent.update`: replace the device's agent executable by a build the API serves. The operator
 * names the build (`{ version }` or `{ buildId }`); the API resolves it from the builds it serves
 * and signs what the agent checks: the version, the build id, the executable's SHA-256 and size.
 * There is no URL in the signed params: the agent downloads from its own API over the tunnel
 * (`GET agent/commands/:id/agent-build`), so a signed command cannot send it anywhere else.
 */
export const AGENT_UPDATE_ACTION = 'agent.update';

/** Largest executable the agent downloads (the Node.js single executable is ~100 MiB). */
export const AGENT_EXECUTABLE_MAX_BYTES = 256 * 1024 * 1024;

/** How long the new build has to report its build id after the restart before the previous one is restored. */
export const AGENT_UPDATE_HEALTH_SECONDS = 90;

/** A version as agent/package.json spells it (semver-like, no spaces or slashes). */
export const AgentVersionSchema = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+-]*$/, 'a version such as 0.1.0');

/** A build id: SHA-256 of the bundle inside the executable (agent/build-info.mjs). */
export const AgentBuildIdSchema = Sha256HexSchema;

/** What the operator sends: the build by exactly one of its version or its build id. */
export const AgentUpdateRequestParamsSchema = z
  .object({
    version: AgentVersionSchema.optional(),
    buildId: AgentBuildIdSchema.optional(),
  })
  .strict()
  .superRefine((params, ctx) => {
    if ((params.version === undefined) === (params.buildId === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'name the build by exactly one of version or buildId' });
    }
  });
export type AgentUpdateRequestParams = z.infer<typeof AgentUpdateRequestParamsSchema>;

/** What the device gets, signed: the build and the exact bytes (SHA-256 and size) it must download. */
export const AgentUpdateParamsSchema = z
  .object({
    version: AgentVersionSchema,
    buildId: AgentBuildIdSchema,
    sha256: Sha256HexSchema.describe("SHA-256 of the executable's bytes"),
    sizeBytes: z.number().int().min(1).max(AGENT_EXECUTABLE_MAX_BYTES),
  })
  .strict();
export type AgentUpdateParams = z.infer<typeof AgentUpdateParamsSchema>;

/** One build the API serves (a build's `xspectre-agent.build.json` beside its executable, written by agent/build-sea.mjs). */
export const AgentBuildSchema = z.object({
  version: AgentVersionSchema,
  buildId: AgentBuildIdSchema,
  sha256: Sha256HexSchema,
  sizeBytes: z.number().int().min(1),
  current: z.boolean().describe('the build bootstrap.sh installs (GET agent/download/xspectre-agent)'),
});
export type AgentBuild = z.infer<typeof AgentBuildSchema>;

/** `xspectre-agent.build.json`: what agent/build-sea.mjs writes beside the executable. */
export const AgentBuildInfoFileSchema = z.object({
  version: AgentVersionSchema,
  buildId: AgentBuildIdSchema,
  sha256: Sha256HexSchema,
});
