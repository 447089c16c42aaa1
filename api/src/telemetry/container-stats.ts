import type { ContainerState, DockerReport } from '@xspectre/contracts';

/** Per container, in the report's order: [cpuPercent, memoryBytes]. */
export type ContainerStats = Array<[number | null, number | null]>;

type StableContainer = Omit<ContainerState, 'cpuPercent' | 'memoryBytes'>;
/** A docker report without the numbers that change every heartbeat. */
export type StableDockerReport = Exclude<DockerReport, { status: 'ok' }> | { status: 'ok'; containers: StableContainer[] };

/**
 * Splits a docker report into its stable part (what runs, in which state) and the per-container
 * CPU and memory, so an unchanged container list need not be rewritten every heartbeat.
 */
export function splitContainerStats(docker: DockerReport): { stable: StableDockerReport; stats: ContainerStats | null } {
  if (docker.status !== 'ok') return { stable: docker, stats: null };
  const stats: ContainerStats = [];
  const containers = docker.containers.map(({ cpuPercent, memoryBytes, ...rest }) => {
    stats.push([cpuPercent, memoryBytes]);
    return rest;
  });
  return { stable: { status: 'ok', containers }, stats };
}

/** The docker report as the agent sent it, from its stored parts (rows written before the split have no stats). */
export function withContainerStats(docker: DockerReport | StableDockerReport | null, stats: ContainerStats | null): DockerReport | null {
  if (!docker || docker.status !== 'ok' || !stats) return docker as DockerReport | null;
  return {
    status: 'ok',
    containers: docker.containers.map((c, i) => ({ ...c, cpuPercent: stats[i]?.[0] ?? null, memoryBytes: stats[i]?.[1] ?? null })),
  };
}
