import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CliContext } from './cli-context.js';
import { runCli } from './cli.js';
import { ExitCode } from './errors.js';
import { AGENT_VERSION } from './version.js';

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    env: { XSPECTRE_CONFIG: '/nonexistent/agent.conf', XSPECTRE_STATE_DIR: '/nonexistent/state' },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    shutdownSignal: () => new AbortController().signal,
    collectFacts: () => Promise.reject(new Error('not in this test')),
    now: () => new Date(),
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}

describe('runCli', () => {
  it('prints the version, equal to package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
    for (const flag of ['--version', '-V', 'version'])
      expect(await cli(flag)).toEqual({ code: 0, stdout: `${AGENT_VERSION}\n`, stderr: '' });
  });

  it('prints usage on help', async () => {
    const { code, stdout } = await cli('help');
    expect(code).toBe(0);
    expect(stdout).toContain('xspectre-agent enroll --claim CODE --api URL');
    expect((await cli('status', '--help')).stdout).toContain('--wait-for-ack');
  });

  it('exits 2 on usage errors, naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no command given/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['run', '--verbose'], /Unknown option '--verbose'/],
      [['run', 'extra'], /Unexpected argument 'extra'/],
      [['status', '--wait-for-ack', 'soon'], /--wait-for-ack must be a whole number/],
      [['enroll', '--api', 'http://x'], /--claim is required/],
      [['enroll', '--claim', 'short', '--api', 'http://x', '--wg-private-key-file', 'k'], /a claim code is 20 letters/],
      [['enroll', '--claim', 'ABCD-EFGH-JKLM-NPQR-STUV', '--api', 'ftp://x', '--wg-private-key-file', 'k'], /--api must be/],
      [
        ['enroll', '--claim', 'ABCD-EFGH-JKLM-NPQR-STUV', '--api', 'https://x', '--wg-private-key-file', 'k', '--pin', 'sha256//x='],
        /--pin must be sha256/,
      ],
      [
        [
          'enroll',
          '--claim',
          'ABCD-EFGH-JKLM-NPQR-STUV',
          '--api',
          'http://x',
          '--wg-private-key-file',
          'k',
          '--pin',
          `sha256//${'A'.repeat(43)}=`,
        ],
        /--pin needs an https/,
      ],
      [['--version', 'extra'], /takes no arguments/],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(...argv);
      expect(result.code, argv.join(' ')).toBe(ExitCode.USAGE);
      expect(result.stderr).toMatch(message);
    }
  });

  it('exits 6 when not enrolled', async () => {
    for (const command of ['run', 'status']) {
      const { code, stderr } = await cli(command);
      expect(code).toBe(ExitCode.LOCAL_ERROR);
      expect(stderr).toContain('not enrolled');
    }
  });
});
