import { describe, expect, it } from 'vitest';
import { emailDomainAllowed, roleForGroups } from './role-mapping.js';

describe('roleForGroups', () => {
  const rules = [
    { group: 'xs-admins', role: 'super_admin' as const },
    { group: 'soc', role: 'soc_operator' as const },
    { group: 'everyone', role: 'read_only' as const },
  ];

  it('gives the first matching rule, in rule order rather than group order', () => {
    expect(roleForGroups(rules, ['everyone', 'soc'])).toEqual({ role: 'soc_operator', matchedRule: 1 });
    expect(roleForGroups(rules, ['everyone', 'xs-admins'])).toEqual({ role: 'super_admin', matchedRule: 0 });
  });

  it('gives no access when nothing matches, or with no groups or no rules', () => {
    expect(roleForGroups(rules, ['marketing'])).toBeNull();
    expect(roleForGroups(rules, [])).toBeNull();
    expect(roleForGroups([], ['soc'])).toBeNull();
  });

  it('compares exactly', () => {
    expect(roleForGroups(rules, ['SOC', 'soc '])).toBeNull();
  });
});

describe('emailDomainAllowed', () => {
  it('accepts listed domains only, case-insensitively, not their subdomains or look-alikes', () => {
    expect(emailDomainAllowed('ana@Example.com', ['example.com'])).toBe(true);
    expect(emailDomainAllowed('ana@mail.example.com', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('ana@example.com.evil.io', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('example.com', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('ana@', ['example.com'])).toBe(false);
  });
});
