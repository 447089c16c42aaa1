export * from './permissions.js';
export * from './common.js';
export * from './auth.js';
export * from './organizations.js';
export * from './users.js';
export * from './audit.js';
export * from './health.js';
