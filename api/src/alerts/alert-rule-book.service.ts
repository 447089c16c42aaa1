import { Injectable, Logger } from '@nestjs/common';
import { AlertRulesRepository } from './alert-rules.repository.js';
import { RuleBook, toEngineRules } from './rule-book.js';

/** How long an instance trusts its rule book before asking whether the rules changed. */
export const RULE_BOOK_CHECK_MS = 5_000;

/** The rules in force as the engine reads them: cached per instance, reloaded when any rule changed. */
@Injectable()
export class AlertRuleBook {
  private readonly logger = new Logger(AlertRuleBook.name);
  private book: { rules: RuleBook; version: string; checkedAt: number } | null = null;
  private loading: Promise<RuleBook> | null = null;

  constructor(private readonly rules: AlertRulesRepository) {}

  /** Checked against the database at most every RULE_BOOK_CHECK_MS, so another instance's change is seen within seconds. */
  async current(): Promise<RuleBook> {
    const now = Date.now();
    if (this.book && now - this.book.checkedAt < RULE_BOOK_CHECK_MS) return this.book.rules;
    this.loading ??= this.load(now).finally(() => (this.loading = null));
    return this.loading;
  }

  /** This instance changed a rule: the next read reloads. */
  invalidate(): void {
    this.book = null;
  }

  private async load(now: number): Promise<RuleBook> {
    const version = await this.rules.version();
    if (this.book && this.book.version === version) {
      this.book.checkedAt = now;
      return this.book.rules;
    }
    const { rules, invalid } = toEngineRules(await this.rules.all());
    for (const bad of invalid)
      this.logger.error({ msg: 'alert rule skipped: its stored params do not parse', rule: bad.id, key: bad.key, error: bad.error });
    const book = new RuleBook(rules);
    this.book = { rules: book, version, checkedAt: now };
    return book;
  }
}
