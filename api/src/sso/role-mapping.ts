import type { Role, RoleRule } from '@xspectre/contracts';

/**
 * The role a set of group claim values gives: the first rule whose group is among them wins;
 * no match is no access (never a default role). Group values compare exactly (Entra sends
 * object ids, Google group e-mails): case folding could merge two distinct groups.
 */
export function roleForGroups(rules: readonly RoleRule[], groups: readonly string[]): { role: Role; matchedRule: number } | null {
  const held = new Set(groups);
  const index = rules.findIndex((rule) => held.has(rule.group));
  return index === -1 ? null : { role: rules[index]!.role, matchedRule: index };
}

/** Whether an e-mail's domain is one of the allowed ones (exact, lower-case; subdomains are not included). */
export function emailDomainAllowed(email: string, allowedDomains: readonly string[]): boolean {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return false;
  return allowedDomains.includes(email.slice(at + 1).toLowerCase());
}
