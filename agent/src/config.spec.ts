import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMAND_KEY_ID, COMMAND_KEY_PEM, CREDENTIAL, sampleConfig } from '../test/fixtures.js';
import {
  agentConfigExists,
  DEFAULT_CONFIG_PATH,
  DEFAULT_STATE_DIR,
  loadAgentConfig,
  parseAgentConfig,
  resolvePaths,
  writeAgentConfig,
  type AgentConfig,
} from './config.js';
import { AgentError, ExitCode } from './errors.js';

describe('resolvePaths', () => {
  it('uses flag, then environment, then the defaults', () => {
    expect(resolvePaths({}, {})).toEqual({ configPath: DEFAULT_CONFIG_PATH, stateDir: DEFAULT_STATE_DIR });
    expect(resolvePaths({}, { XSPECTRE_CONFIG: '/e/agent.conf', XSPECTRE_STATE_DIR: '/e/state' })).toEqual({
      configPath: '/e/agent.conf',
      stateDir: '/e/state',
    });
    expect(
      resolvePaths({ config: '/f/a.conf', stateDir: '/f/s' }, { XSPECTRE_CONFIG: '/e/agent.conf', XSPECTRE_STATE_DIR: '/e/state' }),
    ).toEqual({
      configPath: '/f/a.conf',
      stateDir: '/f/s',
    });
    expect(resolvePaths({ config: '' }, { XSPECTRE_CONFIG: ' ' }).configPath).toBe(DEFAULT_CONFIG_PATH);
  });
});

describe('agent config', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is written with mode 0600 (directory 0700) and read back', async () => {
    const path = join(dir, 'etc', 'xspectre', 'agent.conf');
    expect(await agentConfigExists(path)).toBe(false);
    await writeAgentConfig(path, sampleConfig());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'etc', 'xspectre'))).mode & 0o777).toBe(0o700);
    expect(await loadAgentConfig(path)).toEqual(sampleConfig());
    expect(await agentConfigExists(path)).toBe(true);
  });

  it('rejects invalid configs naming the fields, never the values', () => {
    const bad = JSON.stringify({
      ...sampleConfig(),
      deviceId: 'nope',
      apiUrl: 'ftp://x',
      heartbeatIntervalSeconds: 1,
      deviceCredential: `${CREDENTIAL} x`,
    });
    let error: unknown;
    try {
      parseAgentConfig(bad, '/etc/xspectre/agent.conf');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AgentError);
    const { message, exitCode } = error as AgentError;
    expect(exitCode).toBe(ExitCode.LOCAL_ERROR);
    expect(message).toMatch(/deviceId/);
    expect(message).toMatch(/apiUrl/);
    expect(message).toMatch(/heartbeatIntervalSeconds/);
    expect(message).toMatch(/deviceCredential/);
    expect(message).not.toContain(CREDENTIAL);
  });

  it('reports missing and non-JSON files as local errors', async () => {
    await expect(loadAgentConfig(join(dir, 'missing.conf'))).rejects.toMatchObject({
      exitCode: ExitCode.LOCAL_ERROR,
      message: /not enrolled/,
    });
    await writeFile(join(dir, 'broken.conf'), `{"deviceCredential": "${CREDENTIAL}"`);
    const error = await loadAgentConfig(join(dir, 'broken.conf')).catch((err: AgentError) => err);
    expect(error).toMatchObject({ exitCode: ExitCode.LOCAL_ERROR, message: /not valid JSON/ });
    expect((error as AgentError).message).not.toContain(CREDENTIAL);
    expect(await readFile(join(dir, 'broken.conf'), 'utf8')).toContain(CREDENTIAL); // untouched
  });
});

describe('pinned command-signing keys', () => {
  const OTHER_KEY_PEM =
    '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAODwfChre31HS7gEFzG8dxzwjBPqTaZwg1hsy+CW6BF8=\n-----END PUBLIC KEY-----\n';
  const OTHER_KEY_ID = '3dce21dccb02d910';
  const P256_PEM =
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbTaW3X8RHKCSDlXvXAxM4g3+fovD\nbcpBZ6Vma/SNpvK3BBKgT4KfbmYqsuQUgyco8ZP3r77httRZLoFSzqrzFA==\n-----END PUBLIC KEY-----\n';
  const PATH = '/etc/xspectre/agent.conf';
  const parse = (config: object) => parseAgentConfig(JSON.stringify(config), PATH);
  const failure = (config: object): AgentError => {
    try {
      parse(config);
    } catch (err) {
      if (err instanceof AgentError) return err;
      throw err;
    }
    throw new Error('expected an AgentError');
  };

  it('loads a config written before commandSigningKeys as one pinned key with its computed id', () => {
    const legacy: Partial<AgentConfig> = sampleConfig();
    delete legacy.commandSigningKeys;
    expect(parse(legacy).commandSigningKeys).toEqual([{ keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }]);
  });

  it('keeps every key of commandSigningKeys (a rotation pins two)', () => {
    const keys = [
      { keyId: OTHER_KEY_ID, publicKeyPem: OTHER_KEY_PEM },
      { keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM },
    ];
    expect(parse({ ...sampleConfig(), commandSigningKeys: keys }).commandSigningKeys).toEqual(keys);
  });

  it('refuses key material that is not an Ed25519 SPKI PEM, naming the config file and the field', () => {
    const truncated = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n';
    const legacyBad = failure({ ...sampleConfig(), commandSigningKeys: undefined, commandSigningPublicKey: truncated });
    expect(legacyBad.exitCode).toBe(ExitCode.LOCAL_ERROR);
    expect(legacyBad.message).toMatch(/^agent config \/etc\/xspectre\/agent\.conf is invalid: commandSigningPublicKey: .*cannot be read/);

    const p256 = failure({ ...sampleConfig(), commandSigningKeys: [{ keyId: COMMAND_KEY_ID, publicKeyPem: P256_PEM }] });
    expect(p256.message).toContain(PATH);
    expect(p256.message).toMatch(/commandSigningKeys\.0\.publicKeyPem: .*must be an Ed25519 key, not ec/);

    expect(failure({ ...sampleConfig(), commandSigningPublicKey: 'not a key' }).message).toMatch(/commandSigningPublicKey: .*not a PEM/);
  });

  it('refuses a pinned key whose id is not its own', () => {
    const swapped = failure({ ...sampleConfig(), commandSigningKeys: [{ keyId: OTHER_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }] });
    expect(swapped.message).toMatch(/commandSigningKeys\.0\.keyId: is not the id of the key beside it/);
  });
});
