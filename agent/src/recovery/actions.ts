import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  RecoveryFsckParamsSchema,
  RecoveryImageParamsSchema,
  RecoveryRestoreParamsSchema,
  smartFailure,
  type DiskImageMetadata,
  type RecoveryHardware,
} from '@xspectre/contracts';
import { boundBytes, boundUtf8 } from '../commands/output.js';
import { parseSmartDisk } from '../collectors/smart-parsers.js';
import { errorMessage } from '../errors.js';
import { takeImage, type ImageTokenSource, type ImagingDisk } from './imaging.js';
import type { ProgressSample } from './progress.js';
import { restoreImage, RestoreError } from './restore.js';
import { defaultRunner, type Runner } from './tunnel.js';

/**
 * The recovery agent's actions (contracts/src/recovery.ts): `recovery.image`, `recovery.restore`,
 * `recovery.smart`, `recovery.fsck`, `recovery.reboot`. Each returns the final status to report;
 * `after` runs once that status is reported (the reboot). The stick's own disk and its
 * partitions are never imaged, written or checked.
 */
export interface ActionContext {
  deviceId: string;
  stick: string | null;
  hardware: RecoveryHardware;
  /** `/dev/<name>` in production. */
  diskPath: (name: string) => string;
  tokens: (commandId: string) => ImageTokenSource;
  progress: (commandId: string, sample: ProgressSample) => void;
  reportImage: (commandId: string, metadata: DiskImageMetadata) => Promise<void>;
  agentVersion: string;
  kernel: string | null;
  run?: Runner;
  /** `/sys` and `/proc` (tests: fixture trees). */
  sysRoot?: string;
  procRoot?: string;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface ActionOutcome {
  status: 'succeeded' | 'failed';
  exitCode?: number;
  stdout?: string;
  stdoutTruncated?: boolean;
  stderr?: string;
  reason?: string;
  /** Runs after the final status is reported (the reboot). */
  after?: () => Promise<void>;
}

const failed = (reason: string): ActionOutcome => ({ status: 'failed', reason: boundUtf8(reason, 500).text });
const output = (text: string) => {
  const b = boundUtf8(text);
  return { stdout: b.text, ...(b.truncated ? { stdoutTruncated: true } : {}) };
};

export async function runRecoveryAction(action: string, params: unknown, commandId: string, ctx: ActionContext): Promise<ActionOutcome> {
  try {
    switch (action) {
      case 'recovery.image':
        return await imageAction(RecoveryImageParamsSchema.parse(params), commandId, ctx);
      case 'recovery.restore':
        return await restoreAction(RecoveryRestoreParamsSchema.parse(params), commandId, ctx);
      case 'recovery.smart':
        return await smartAction(ctx);
      case 'recovery.fsck':
        return await fsckAction(RecoveryFsckParamsSchema.parse(params), ctx);
      case 'recovery.reboot':
        return { status: 'succeeded', ...output('rebooting to the main disk\n'), after: () => reboot(ctx.run ?? defaultRunner) };
      default:
        return failed(`unknown recovery action ${action}`);
    }
  } catch (err) {
    return failed(errorMessage(err));
  }
}

/** The disks to image: the named ones (never the stick), or every target disk. */
export function chooseImageDisks(
  hardware: RecoveryHardware,
  names: readonly string[],
): { disks: RecoveryHardware['disks'] } | { error: string } {
  const targets = hardware.disks.filter((d) => d.role === 'target');
  if (names.length === 0) return targets.length > 0 ? { disks: targets } : { error: 'no target disk was found' };
  const picked: RecoveryHardware['disks'] = [];
  for (const name of names) {
    const disk = hardware.disks.find((d) => d.name === name);
    if (!disk) return { error: `no disk ${name} on this machine` };
    if (disk.role === 'recovery-stick') return { error: `${name} is the recovery stick` };
    if (picked.includes(disk)) return { error: `${name} is named twice` };
    picked.push(disk);
  }
  return { disks: picked };
}

async function imageAction(
  params: ReturnType<typeof RecoveryImageParamsSchema.parse>,
  commandId: string,
  ctx: ActionContext,
): Promise<ActionOutcome> {
  const chosen = chooseImageDisks(ctx.hardware, params.disks);
  if ('error' in chosen) return failed(chosen.error);
  const disks: ImagingDisk[] = chosen.disks.map((d) => ({
    name: d.name,
    path: ctx.diskPath(d.name),
    sizeBytes: d.sizeBytes,
    model: d.model,
    serial: d.serial,
  }));
  const result = await takeImage({
    deviceId: ctx.deviceId,
    imageName: params.imageName,
    disks,
    compressionLevel: params.compressionLevel,
    tokens: ctx.tokens(commandId),
    agentVersion: ctx.agentVersion,
    kernel: ctx.kernel ?? undefined,
    onProgress: (s) => ctx.progress(commandId, s),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.now ? { now: ctx.now } : {}),
  });
  await ctx.reportImage(commandId, result.metadata);
  const m = result.metadata;
  return {
    status: 'succeeded',
    ...output(
      `image ${m.imageName}: ${m.disks.map((d) => `${d.name} ${d.sizeBytes} bytes sha256 ${d.sha256Raw}`).join('; ')}; ` +
        `compressed ${m.compressedBytes} bytes sha256 ${m.sha256Compressed}; ${m.durationSeconds.toFixed(1)} s; ${result.retries} retries\n`,
    ),
  };
}

async function restoreAction(
  params: ReturnType<typeof RecoveryRestoreParamsSchema.parse>,
  commandId: string,
  ctx: ActionContext,
): Promise<ActionOutcome> {
  const targets = [];
  for (const t of params.targets) {
    const disk = ctx.hardware.disks.find((d) => d.name === t.target);
    if (!disk) return failed(`target: no disk ${t.target} on this machine (nothing was written)`);
    targets.push({ ...t, path: ctx.diskPath(t.target), targetSizeBytes: disk.sizeBytes });
  }
  try {
    const result = await restoreImage({
      deviceId: ctx.deviceId,
      imageName: params.imageName,
      sha256Compressed: params.sha256Compressed,
      compressedBytes: params.compressedBytes,
      targets,
      stickDisk: ctx.stick ?? ctx.hardware.disks.find((d) => d.role === 'recovery-stick')?.name ?? null,
      tokens: ctx.tokens(commandId),
      onProgress: (s) => ctx.progress(commandId, s),
      dropCaches: true,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.now ? { now: ctx.now } : {}),
    });
    return {
      status: 'succeeded',
      ...output(
        `restored ${params.imageName}: ${result.targets.map((t) => `${t.target} ${t.bytes} bytes read back sha256 ${t.sha256}`).join('; ')}\n`,
      ),
    };
  } catch (err) {
    if (err instanceof RestoreError) return { ...failed(err.message), ...output(`check failed: ${err.check}\n`) };
    throw err;
  }
}

/**
 * One line per disk from `smartctl -j -a` JSON, read by the same parser and judged by the same
 * rule as the agent's periodic SMART reading (collectors/smart-parsers.ts, contracts smartFailure).
 */
export function smartSummary(disk: string, json: string, exitCode: number | null): { line: string; failing: boolean } {
  const d = parseSmartDisk(disk, json, exitCode);
  const failure = smartFailure(d);
  if (d.error !== null && d.protocol === 'unknown' && d.model === null)
    return { line: `${disk}: ${d.error}`, failing: d.health === 'failed' };
  const parts = [
    `${disk}: ${d.health === 'passed' ? 'PASSED' : d.health === 'failed' ? 'FAILED' : 'no SMART status'}`,
    d.model !== null ? `model="${d.model.slice(0, 80)}"` : '',
    d.temperatureC !== null ? `temperature=${d.temperatureC}C` : '',
    d.powerOnHours !== null ? `power_on_hours=${d.powerOnHours}` : '',
    failure !== null && d.health !== 'failed' ? `failing="${failure}"` : '',
    exitCode !== null && exitCode !== 0 ? `smartctl_exit=${exitCode}` : '',
  ];
  return { line: parts.filter(Boolean).join(' '), failing: failure !== null };
}

async function smartAction(ctx: ActionContext): Promise<ActionOutcome> {
  const run = ctx.run ?? defaultRunner;
  const lines: string[] = [];
  let anyFailing = false;
  for (const disk of ctx.hardware.disks.filter((d) => d.role === 'target')) {
    const result = await run('smartctl', ['-j', '-a', ctx.diskPath(disk.name)]);
    if (result.error) return failed(`smartctl: ${result.error}`);
    const summary = smartSummary(disk.name, result.stdout.toString('utf8'), result.code);
    anyFailing ||= summary.failing;
    lines.push(summary.line);
  }
  if (lines.length === 0) return failed('no target disk was found');
  return { status: 'succeeded', ...output(`${lines.join('\n')}\n${anyFailing ? 'SMART: a disk reports failure\n' : ''}`) };
}

/** The disk a partition belongs to (`/sys/class/block/<part>` → its parent), or null when it is not a partition. */
export async function partitionParent(sysRoot: string, partition: string): Promise<string | null> {
  try {
    await readFile(join(sysRoot, 'class', 'block', partition, 'partition'), 'utf8');
  } catch {
    return null;
  }
  return basename(dirname(await realpath(join(sysRoot, 'class', 'block', partition))));
}

/** Whether `/dev/<partition>` is mounted, from /proc/mounts. */
export function isMounted(mounts: string, partition: string): boolean {
  return mounts.split('\n').some((line) => line.split(' ')[0] === `/dev/${partition}`);
}

async function fsckAction(params: { partition: string; repair: boolean }, ctx: ActionContext): Promise<ActionOutcome> {
  const run = ctx.run ?? defaultRunner;
  const sys = ctx.sysRoot ?? '/sys';
  const parent = await partitionParent(sys, params.partition);
  if (parent === null) return failed(`${params.partition} is not a partition on this machine`);
  const stick = ctx.stick ?? ctx.hardware.disks.find((d) => d.role === 'recovery-stick')?.name ?? null;
  if (parent === stick) return failed(`${params.partition} is on the recovery stick`);
  const mounts = await readFile(join(ctx.procRoot ?? '/proc', 'mounts'), 'utf8').catch(() => '');
  if (isMounted(mounts, params.partition)) return failed(`${params.partition} is mounted`);
  const device = `/dev/${params.partition}`;
  const probe = await run('blkid', ['-o', 'value', '-s', 'TYPE', device]);
  const type = probe.stdout.toString('utf8').trim();
  let file: string;
  let args: string[];
  if (/^ext[234]$/.test(type)) [file, args] = ['e2fsck', [params.repair ? '-p' : '-n', '-f', device]];
  else if (type === 'vfat') [file, args] = ['fsck.vfat', [params.repair ? '-a' : '-n', device]];
  else
    return failed(
      `${params.partition}: file system ${type === '' ? 'not recognised' : `${type.slice(0, 32)} is not supported`} (ext2/3/4 and vfat are)`,
    );
  const result = await run(file, args);
  if (result.error) return failed(`${file}: ${result.error}`);
  const out = boundBytes(Buffer.concat([result.stdout, result.stderr]), undefined, result.stdoutCut || result.stderrCut);
  // e2fsck and fsck.vfat: 0 clean, 1 (2) errors corrected; 4 and up left uncorrected or could not run.
  const code = result.code ?? -1;
  const ok = code >= 0 && code < 4;
  return {
    status: ok ? 'succeeded' : 'failed',
    exitCode: code,
    stdout: out.text,
    ...(out.truncated ? { stdoutTruncated: true } : {}),
    ...(ok ? {} : { reason: `${file} exit ${code}: ${params.repair ? 'errors left uncorrected' : 'errors found (run with repair)'}` }),
  };
}

async function reboot(run: Runner): Promise<void> {
  // On the stick, PID 1 (/init) turns SIGTERM into a clean reboot; `busybox reboot` sends it.
  const first = await run('busybox', ['reboot']);
  if (first.error || first.code !== 0) await run('reboot', []);
}
