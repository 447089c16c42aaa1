import { writeFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processLauncher, systemdLauncher } from './restic-launcher.js';

const COMMAND = '3f0c5a5e-8d7c-4c1e-9a53-2b7a6f1d0e42';

/**
 * The launcher's side of a transient unit: a stand-in `systemd-run` on PATH does what PID 1
 * would with the properties the launcher sets (environment file, output files, `$$` escapes,
 * exit status passed on by --wait); a stand-in restic prints status lines slowly, so the
 * launcher follows its stdout file while it runs.
 */
describe('restic launchers', () => {
  let dir: string;
  let savedPath: string | undefined;
  const env = { RESTIC_REPOSITORY: 'rest:http://restic:pw@127.0.0.1:1/x/', RESTIC_PASSWORD_FILE: '/p', RESTIC_CACHE_DIR: '/c' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-launcher-'));
    const script = (name: string, body: string) =>
      writeFile(join(dir, name), `#!/bin/bash\n${body}\n`).then(() => chmod(join(dir, name), 0o755));
    await script(
      'systemd-run',
      `echo "$@" >> "${dir}/systemd-run.calls"
env_file= out= err= cmd=()
while [ $# -gt 0 ]; do
  case "$1" in
    --property=EnvironmentFile=*) env_file="\${1#--property=EnvironmentFile=}" ;;
    --property=StandardOutput=file:*) out="\${1#--property=StandardOutput=file:}" ;;
    --property=StandardError=file:*) err="\${1#--property=StandardError=file:}" ;;
    --) shift; cmd=("$@"); break ;;
  esac
  shift
done
for i in "\${!cmd[@]}"; do cmd[$i]="\${cmd[$i]//\\$\\$/\\$}"; done
if [ -z "$env_file" ]; then exec "\${cmd[@]}"; fi
cp "$env_file" "${dir}/env.seen"
set -a; . "$env_file"; set +a
"\${cmd[@]}" > "$out" 2> "$err"`,
    );
    await script(
      'restic',
      `for i in 1 2 3; do echo "{\\"message_type\\":\\"status\\",\\"percent_done\\":0.$i}"; sleep 0.1; done
# Waits (up to 5 s) for the test to have seen a line: proof that the output is followed while restic runs.
for i in $(seq 50); do [ -e "${dir}/seen" ] && break; sleep 0.1; done
echo "line seen while running: $([ -e "${dir}/seen" ] && echo yes || echo no)"
echo "args: $*"
echo "repository set: \${RESTIC_REPOSITORY:+yes}" >&2
echo "Fatal: some files unreadable" >&2
exit 3`,
    );
    savedPath = process.env.PATH;
    process.env.PATH = `${dir}:${savedPath ?? '/usr/bin:/bin'}`;
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('systemd: follows the stdout file while restic runs, passes the exit status on and removes its files', async () => {
    const launcher = systemdLauncher(join(dir, 'restic'), join(dir, 'run'), 50);
    const lines: string[] = [];
    await rm(join(dir, 'seen'), { force: true });
    const result = await launcher.run({
      commandId: COMMAND,
      step: 'backup',
      args: ['backup', '--exclude', '$HOME/x', '--', '/etc'],
      env,
      readWritePaths: ['/c'],
      onLine: (line) => {
        lines.push(line);
        writeFileSync(join(dir, 'seen'), '');
      },
    });
    expect(result.code).toBe(3);
    expect(lines[3]).toBe('line seen while running: yes');
    expect(result.stderrTail).toContain('repository set: yes');
    expect(result.stderrTail.trim().split('\n').at(-1)).toBe('Fatal: some files unreadable');
    expect(lines.slice(0, 3).map((l) => JSON.parse(l).percent_done)).toEqual([0.1, 0.2, 0.3]);
    expect(lines[4]).toBe('args: backup --exclude $HOME/x -- /etc');
    const seen = await readFile(join(dir, 'env.seen'), 'utf8');
    expect(seen).toContain(`RESTIC_REPOSITORY=${env.RESTIC_REPOSITORY}\n`);
    const calls = await readFile(join(dir, 'systemd-run.calls'), 'utf8');
    expect(calls).toContain(`--unit=xspectre-restic-${COMMAND}-backup.service`);
    expect(calls).not.toContain('pw@');
    // The environment file, output files: gone once the step ended.
    expect(await readdir(join(dir, 'run'))).toEqual([]);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
  });

  it('systemd: creates a restore directory through a unit of its own', async () => {
    await systemdLauncher(join(dir, 'restic'), join(dir, 'run')).prepareTarget(COMMAND, join(dir, 'target', 'deep'));
    expect((await stat(join(dir, 'target', 'deep'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, 'systemd-run.calls'), 'utf8')).toContain(`--unit=xspectre-restic-${COMMAND}-prepare.service`);
  });

  it('process: the same lines and exit status from a child process', async () => {
    const lines: string[] = [];
    await rm(join(dir, 'seen'), { force: true });
    const result = await processLauncher(join(dir, 'restic')).run({
      commandId: COMMAND,
      step: 'backup',
      args: ['backup'],
      env,
      readWritePaths: ['/c'],
      onLine: (line) => {
        lines.push(line);
        writeFileSync(join(dir, 'seen'), '');
      },
    });
    expect(result.code).toBe(3);
    expect(lines).toHaveLength(5);
    expect(lines[3]).toBe('line seen while running: yes');
    const missing = await processLauncher(join(dir, 'no-restic')).run({
      commandId: COMMAND,
      step: 'init',
      args: ['init'],
      env,
      readWritePaths: [],
    });
    expect(missing).toEqual({ code: null, stderrTail: `${join(dir, 'no-restic')} is not installed` });
  });
});
