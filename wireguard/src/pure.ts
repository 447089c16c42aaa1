// The modules that only compute (no `wg`, no child processes, no execa): what the device agent
// bundles into its single executable (agent/build-sea.mjs), imported as `@xspectre/wireguard/pure`.
export * from './keys.js';
export * from './render.js';
