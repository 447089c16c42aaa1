export { startLab, Lab, type StartLabOptions, type LabHub, type AddDeviceOptions } from './lab.js';
export { LightDevice, ContainerDevice, type LabDevice, type BootstrapResult, type BootstrapOptions } from './devices.js';
export { sweepLab, findLeftovers } from './sweep.js';
export { LabUnavailableError } from './preflight.js';
export { LabBusyError } from './state.js';
export { DOCKER_SOCKET, DOCKER_CLI_HINT } from './docker.js';
export { DEVICE_ENGINE_IMAGE, DEVICE_DOCKER_SOCKET } from './device-engine.js';
export {
  GreenboneInstall,
  GREENBONE_PROJECT,
  GREENBONE_SERVICES,
  REDIS_MEMORY_LIMIT,
  type GreenboneOptions,
  type GreenboneService,
  type ContainerState,
} from './greenbone.js';
export { DEVICE_IMAGE, DEVICE_ROOTFS_TARBALL, DEVICE_PACKAGES } from './image.js';
export { LAB_PREFIX, RUN_ROOT, CACHE_ROOT } from './names.js';
export type { RunResult, RunOptions } from './exec.js';
export { LabApi, type LabApiOptions } from './lab-api.js';
export { AdminClient } from './api-process.js';
export { mapLimit } from './map-limit.js';
export { AGENT_MAIN, AGENT_NODE_FLAGS, AGENT_SEA, ensureAgentExecutable } from './agent-build.js';
export { DeployHost, DEPLOY_HOST_IMAGE, DEPLOY_HOST_PACKAGES, ensureDeployHostImage } from './deploy-host.js';
