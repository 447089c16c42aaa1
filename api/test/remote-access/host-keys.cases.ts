import type { ContextGetter } from '../support/remote-access-context.js';

/** Placeholder: being built (issue 14). */
export function hostKeysCases(get: ContextGetter): void {
  void get;
}
