import { defineConfig } from 'vitest/config';

/**
 * Lanes, chosen by where a spec lives; every spec belongs to exactly one, so `npm test`
 * (all projects) runs each once. `npx vitest run --project unit|integration|lab|lab-side`, or
 * `npm run test:unit|test:integration|test:lab` (the last runs lab, then lab-side).
 * - unit: specs next to the code (`src/`, and api's lint rules in `api/lint/`): no PostgreSQL, Redis, root or network.
 * - lab: the fleet lab and real devices (root: WireGuard namespaces, wireguard-go, Docker).
 * - lab-side: root specs that need no fleet lab (LAB_SIDE below); `npm test` runs them beside the lab lane.
 * - build: specs that rewrite shared build output (agent/dist/sea) that integration specs read:
 *   alone, before them.
 * - integration: every other spec under `test/`: PostgreSQL, Redis, built processes, a browser.
 *   Two files at a time: each has its own database, Redis prefix, ports and namespaces, and most
 *   of a file's time is spent waiting on processes it started.
 */
const UNIT = ['**/src/**/*.spec.ts', 'api/lint/*.spec.ts'];
const LAB = [
  'api/test/lab-*.spec.ts',
  'wireguard/test/**/*.spec.ts',
  'agent/test/collectors-docker.spec.ts',
  'agent/test/scanner-actions-docker.spec.ts',
  'backup-server/test/lab-*.spec.ts',
  // The console in a browser against a lab device container (terminal, files, player).
  'console/test/remote-access.spec.ts',
  // The recovery stick image: built with debootstrap, booted in qemu.
  'recovery-usb/test/**/*.spec.ts',
];
/**
 * The lab-side lane: root specs that take no lab lock and share nothing with the fleet lab (no
 * hub, no lab dockerd, names and ports of their own) and spend most of their time waiting
 * (measured alone: lab-zfs 171 s wall / 43 s CPU, lab-platform-restore 146 s / 30 s, hub-driver
 * 14 s / 6 s). `npm test` (infra/scripts/test.sh) runs this lane in a second vitest process at the
 * same time as the lab lane, one file at a time; in one process (`npx vitest run`) it runs after
 * the lab lane.
 * - lab-zfs: zfs-fuse in a private mount namespace (backup-server/test/zfs-namespace.ts).
 * - lab-platform-restore: a private PostgreSQL cluster and pgBackRest repository in a temporary directory.
 * - hub-driver: wireguard-go in network namespaces of its own (random suffixes).
 * Not here: the agent's Docker specs (they share the lab's dockerd), anything CPU-bound (the qemu boot).
 */
const LAB_SIDE = ['backup-server/test/lab-zfs.spec.ts', 'api/test/lab-platform-restore.spec.ts', 'wireguard/test/hub-driver.spec.ts'];
const BUILD = ['agent/test/sea.spec.ts'];
const ALL_TESTS = ['**/test/**/*.spec.ts'];
const EXCLUDE = ['**/node_modules/**', '**/dist/**'];
// One migrated database per run, copied for every API a spec starts (api/test/support/template-database.ts).
const TEMPLATE_DB = ['api/test/support/template-database.ts'];

export default defineConfig({
  test: {
    exclude: EXCLUDE,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores shared with PostgreSQL: one test file at a time, unless a lane says otherwise.
    fileParallelism: false,
    projects: [
      // groupOrder: one lane after the other, never two at once.
      { extends: true, test: { name: 'unit', include: UNIT, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'build', include: BUILD, sequence: { groupOrder: 1 } } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ALL_TESTS,
          exclude: [...EXCLUDE, ...LAB, ...UNIT, ...BUILD],
          globalSetup: TEMPLATE_DB,
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // The release tree's directory for lab-deploy and lab-compose (api/test/support/release-root.ts).
        test: {
          name: 'lab',
          include: LAB,
          exclude: [...EXCLUDE, ...LAB_SIDE],
          globalSetup: [...TEMPLATE_DB, 'api/test/support/release-root.ts'],
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        test: { name: 'lab-side', include: LAB_SIDE, globalSetup: TEMPLATE_DB, sequence: { groupOrder: 4 } },
      },
    ],
  },
});
