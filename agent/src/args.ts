import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export type FlagSpec = Readonly<Record<string, { type: 'string' | 'boolean' }>>;

/** Parsed flags of one subcommand. Unknown flags and stray arguments are usage errors. */
export class Flags {
  constructor(
    private readonly command: string,
    private readonly values: Readonly<Record<string, string | boolean | undefined>>,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  requireString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value.trim() === '') throw new UsageError(`${this.command}: --${name} is required`);
    return value;
  }

  boolean(name: string): boolean {
    return this.values[name] === true;
  }

  /** A whole number of seconds in [min, max], or undefined when the flag is absent. */
  seconds(name: string, min: number, max: number): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new UsageError(`${this.command}: --${name} must be a whole number of seconds between ${min} and ${max}`);
    }
    return Number(value);
  }
}

export function parseFlags(command: string, argv: readonly string[], spec: FlagSpec): Flags {
  try {
    const { values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false });
    return new Flags(command, values as Record<string, string | boolean | undefined>);
  } catch (err) {
    const message = err instanceof Error ? err.message.split('. ')[0] : String(err);
    throw new UsageError(`${command}: ${message}`);
  }
}
