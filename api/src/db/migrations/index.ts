import { Foundation1795420000000 } from './1795420000000-Foundation.js';

/** Every migration, in order. Explicit imports keep the ESM build free of globbing. */
export const MIGRATIONS = [Foundation1795420000000];
