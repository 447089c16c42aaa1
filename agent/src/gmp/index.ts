export { collectScannerStats, ScannerStatsCache, type ScannerStatsOptions } from './collect.js';
export { DEFAULT_GVMD_SOCKET, GmpConnection, type GmpAnswer } from './client.js';
export { GmpError, type GmpErrorCode } from './errors.js';
