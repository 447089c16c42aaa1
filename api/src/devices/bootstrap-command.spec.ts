import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { bootstrapCommand } from './bootstrap-command.js';

const PIN = `sha256//${'A'.repeat(43)}=`;
const CODE = 'ABCD-EFGH-JKLM-NPQR-STUV';

describe('bootstrapCommand', () => {
  it('pins the proxy key for the script and for bootstrap.sh over https', () => {
    expect(bootstrapCommand('https://ops.example.com/', CODE, PIN)).toBe(
      `curl -fsSL --insecure --pinnedpubkey '${PIN}' https://ops.example.com/api/v1/agent/bootstrap.sh | sudo bash -s -- --claim ${CODE} --api https://ops.example.com/api/v1 --pin '${PIN}'`,
    );
  });

  it('uses plain https without a pin (ACME: the system CAs vouch for the name)', () => {
    expect(bootstrapCommand('https://ops.example.com', CODE)).toBe(
      `curl -fsSL https://ops.example.com/api/v1/agent/bootstrap.sh | sudo bash -s -- --claim ${CODE} --api https://ops.example.com/api/v1`,
    );
  });

  it('says --insecure-http over http (labs, npm start) and never pins plain http', () => {
    const line = bootstrapCommand('http://127.0.0.1:3000', CODE, PIN);
    expect(line).toBe(
      `curl -fsSL http://127.0.0.1:3000/api/v1/agent/bootstrap.sh | sudo bash -s -- --claim ${CODE} --api http://127.0.0.1:3000/api/v1 --insecure-http`,
    );
  });

  it('quotes a URL the shell would otherwise split or expand', () => {
    const line = bootstrapCommand("https://ops.example.com/x y'$(id)", CODE);
    expect(line).toContain(`'https://ops.example.com/x y'\\''$(id)/api/v1/agent/bootstrap.sh'`);
    expect(line).toContain(`--api 'https://ops.example.com/x y'\\''$(id)/api/v1'`);
  });
});

describe('API_BOOTSTRAP_PIN', () => {
  const env = { DB_URL: 'postgres://u@h:5432/d', REDIS_URL: 'redis://h:6379', API_SECRET_KEY: 'x'.repeat(40) };

  it('is optional and takes exactly what curl --pinnedpubkey takes', () => {
    expect(loadConfig(env).API_BOOTSTRAP_PIN).toBeUndefined();
    expect(loadConfig({ ...env, API_BOOTSTRAP_PIN: PIN }).API_BOOTSTRAP_PIN).toBe(PIN);
    for (const bad of ['sha256//short', `sha1//${'A'.repeat(43)}=`, `${PIN};${PIN}`, `'${PIN}'`, `${PIN} x`]) {
      expect(() => loadConfig({ ...env, API_BOOTSTRAP_PIN: bad }), bad).toThrow(/API_BOOTSTRAP_PIN/);
    }
  });
});
