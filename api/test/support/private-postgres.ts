import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';

/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, its own port, trust
 * authentication on 127.0.0.1), for tests that need PostgreSQL absent and then present. The
 * machine's cluster is never touched. The server runs as the `postgres` user (it refuses root).
 */
export class PrivatePostgres {
  private server: ResultPromise | undefined;

  private constructor(
    private readonly dir: string,
    private readonly bin: string,
    readonly port: number,
  ) {}

  /** initdb only: the cluster exists but is not started (its port refuses connections). */
  static async create(port: number): Promise<PrivatePostgres> {
    const versions = (await readdir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
    const bin = `/usr/lib/postgresql/${versions[0]}/bin`;
    const dir = await mkdtemp(join(tmpdir(), 'xs-pg-'));
    const { stdout } = await execa('id', ['-u', 'postgres']);
    const { stdout: gid } = await execa('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout), Number(gid));
    await chmod(dir, 0o700);
    const cluster = new PrivatePostgres(dir, bin, port);
    await cluster.asPostgres(`${bin}/initdb`, ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    return cluster;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the server and waits until it answers. */
  async start(): Promise<void> {
    const args = [
      '-D',
      join(this.dir, 'data'),
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ];
    this.server = this.asPostgres(`${this.bin}/postgres`, args);
    this.server.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error('the private PostgreSQL did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Whether the server is running (started and not yet exited). */
  get running(): boolean {
    return this.server?.pid !== undefined && this.server.exitCode === null && this.server.signalCode === null;
  }

  /**
   * Fast shutdown (SIGINT: open sessions are ended with 57P01, as an operator's `pg_ctl stop`
   * would) and waits until the server has exited; the data stays, start() brings it back.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.server!.kill('SIGINT');
    await this.server!.catch(() => undefined);
  }

  /** Fast shutdown of the server (if started), then the directory is removed. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** setpriv execs in place (no extra process), so the server's pid is the child's. */
  private asPostgres(file: string, args: string[]): ResultPromise {
    return execa('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', file, ...args], { cwd: this.dir });
  }
}
