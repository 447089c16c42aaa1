import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AgentBuildInfoFileSchema,
  AgentUpdateParamsSchema,
  type AgentBuild,
  type AgentUpdateParams,
  type AgentUpdateRequestParams,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';

const REPO_SEA_DIR = fileURLToPath(new URL('../../../agent/dist/sea/', import.meta.url));
export const EXECUTABLE = 'xspectre-agent';
/** Written by agent/build-sea.mjs beside the executable: { version, buildId, sha256 }. */
export const BUILD_INFO = 'xspectre-agent.build.json';

export interface ServedBuild extends AgentBuild {
  path: string;
}

/**
 * The agent builds this API serves for `agent.update`: the current one (API_AGENT_DIST_DIR, or
 * the repository's agent/dist/sea: the executable bootstrap.sh installs) and every folder of
 * API_AGENT_BUILDS_DIR holding an executable with its build.json. The build id and version come
 * from build.json (the build id is the SHA-256 of the bundle inside, which only the build knows);
 * the SHA-256 and size are always the API's own reading of the file, and a build whose file does
 * not match its build.json is left out (a file replaced after its build): what the command signs
 * is exactly the bytes the download route serves.
 */
@Injectable()
export class AgentBuildsService {
  private readonly logger = new Logger(AgentBuildsService.name);
  private readonly hashes = new Map<string, { key: string; sha256: string }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async list(): Promise<ServedBuild[]> {
    const builds: ServedBuild[] = [];
    const current = await this.read(this.config.API_AGENT_DIST_DIR ?? REPO_SEA_DIR, true);
    if (current) builds.push(current);
    const root = this.config.API_AGENT_BUILDS_DIR;
    if (root) {
      const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
      for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
        const build = await this.read(join(root, entry.name), false);
        if (build && !builds.some((b) => b.sha256 === build.sha256)) builds.push(build);
      }
    }
    return builds;
  }

  /** The signed params of an update to the build the operator named (by build id, or by a version only one build has). */
  async resolveForCommand(request: AgentUpdateRequestParams): Promise<AgentUpdateParams> {
    const builds = await this.list();
    const named = request.buildId !== undefined ? `build ${request.buildId}` : `version ${request.version}`;
    const matches = builds.filter((b) => (request.buildId !== undefined ? b.buildId === request.buildId : b.version === request.version));
    if (matches.length === 0) {
      const offered = builds.map((b) => `${b.version} (${b.buildId})`).join(', ') || 'none';
      throw new AppError('AGENT_BUILD_NOT_FOUND', `this server serves no agent ${named}; it serves: ${offered}`);
    }
    const ids = [...new Set(matches.map((b) => b.buildId))];
    if (ids.length > 1)
      throw new AppError('AGENT_BUILD_AMBIGUOUS', `several builds have ${named}: name one by buildId (${ids.join(', ')})`);
    const build = matches[0]!;
    requestContext.annotate({ details: { agentBuild: { version: build.version, buildId: build.buildId, sha256: build.sha256 } } });
    return AgentUpdateParamsSchema.parse({
      version: build.version,
      buildId: build.buildId,
      sha256: build.sha256,
      sizeBytes: build.sizeBytes,
    });
  }

  /** The file of the build with these bytes (the signed SHA-256), for a device's update in progress. */
  async fileFor(sha256: string): Promise<ServedBuild> {
    const build = (await this.list()).find((b) => b.sha256 === sha256);
    if (!build) throw new AppError('AGENT_BUILD_NOT_FOUND', `this server no longer serves the agent executable ${sha256}`);
    return build;
  }

  /** One build folder, or null when it has no executable or build.json, or they disagree. */
  private async read(dir: string, current: boolean): Promise<ServedBuild | null> {
    const path = join(dir, EXECUTABLE);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile() || info.size === 0) return null;
    const raw = await readFile(join(dir, BUILD_INFO), 'utf8').catch(() => null);
    if (raw === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = AgentBuildInfoFileSchema.safeParse(json);
    if (!parsed.success) {
      this.logger.warn(`${join(dir, BUILD_INFO)} is not valid: the build is not offered`);
      return null;
    }
    const sha256 = await this.sha256(path, `${info.ino}:${info.size}:${info.mtimeMs}`);
    if (sha256 !== parsed.data.sha256) {
      this.logger.warn(`${path} does not match the SHA-256 of its ${BUILD_INFO}: the build is not offered`);
      return null;
    }
    return { version: parsed.data.version, buildId: parsed.data.buildId, sha256, sizeBytes: info.size, current, path };
  }

  /** SHA-256 of a file, remembered while its inode, size and mtime stay the same (an executable is ~100 MiB). */
  private async sha256(path: string, key: string): Promise<string> {
    const known = this.hashes.get(path);
    if (known?.key === key) return known.sha256;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    this.hashes.set(path, { key, sha256 });
    return sha256;
  }
}
