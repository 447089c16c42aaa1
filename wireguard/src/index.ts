export * from './overlay.js';
export * from './keys.js';
export * from './render.js';
export * from './dump.js';
export * from './plan.js';
export * from './hub-driver.js';
export { WgCommandError } from './wg-command.js';
export * from './lab-interface.js';
