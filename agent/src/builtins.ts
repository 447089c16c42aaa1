// Node.js built-ins the agent loads through process.getBuiltinModule rather than `import`. On
// Node.js 22 the ES module facade of node:http reads every export, including the lazy
// `WebSocket`, which loads undici and compiles its WebAssembly HTTP parser: memory the agent
// does not need, and a crash under --lite-mode (node-flags.json), which has no WebAssembly.
// (The executable's CommonJS bundle never builds that facade; `node dist/main.js` does.)
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';

export const httpModule = () => process.getBuiltinModule('node:http') as typeof Http;
/** Loaded only when an https:// URL is used (TLS is not needed inside the overlay). */
export const httpsModule = () => process.getBuiltinModule('node:https') as typeof Https;
/** Only for a pinned enrollment through a private CA (pinned-tls.ts). */
export const tlsModule = () => process.getBuiltinModule('node:tls') as typeof Tls;
