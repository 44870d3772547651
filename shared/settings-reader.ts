/**
 * Reads named settings from one source (the functions' environment, or the CDK app's context),
 * collecting every problem instead of stopping at the first, so an operator fixes them all in one
 * deploy. The one reader behind `shared/config.ts` and `infra/settings.ts`.
 */
export interface SettingsReader {
  /** Every problem found so far, each naming its setting. */
  readonly problems: string[];
  /** The trimmed text; undefined when unset or blank (a non-string context value, as JSON). */
  text(name: string): string | undefined;
  /** A comma list (or a JSON array in a context), trimmed, without blanks. */
  list(name: string): string[];
  /** `true`/`false` (also `1`/`0`, any case). */
  bool(name: string, fallback: boolean): boolean;
  /** A whole number from `min` to `max`; `unit` words the message ("seconds"). */
  int(
    name: string,
    fallback: number,
    range: { readonly min: number; readonly max?: number; readonly unit?: string },
  ): number;
  /** JSON (a string to parse, or a context value as it is) that `check` accepts. */
  json<T>(name: string, check: (value: unknown) => value is T, what: string): T | undefined;
}

export function createSettingsReader(
  get: (name: string) => unknown,
  problems: string[] = [],
): SettingsReader {
  const text = (name: string): string | undefined => {
    const value = get(name);
    if (value === undefined || value === null) return undefined;
    const string = typeof value === 'string' ? value.trim() : JSON.stringify(value);
    return string === '' ? undefined : string;
  };
  return {
    problems,
    text,
    list(name) {
      const value = get(name);
      const items = Array.isArray(value) ? value.map(String) : (text(name) ?? '').split(',');
      return items.map((item) => item.trim()).filter((item) => item !== '');
    },
    bool(name, fallback) {
      const value = text(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      problems.push(`${name} must be true or false (got "${value}")`);
      return fallback;
    },
    int(name, fallback, { min, max, unit }) {
      const value = text(name);
      if (value === undefined) return fallback;
      const number = Number(value);
      if (!Number.isInteger(number) || number < min || (max !== undefined && number > max)) {
        const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
        problems.push(
          `${name} must be a whole number${unit ? ` of ${unit},` : ''} ${range} (got "${value}")`,
        );
        return fallback;
      }
      return number;
    },
    json(name, check, what) {
      const raw = get(name);
      if (raw === undefined || raw === null || raw === '') return undefined;
      let value: unknown = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw);
        } catch {
          problems.push(`${name} must be JSON (${what})`);
          return undefined;
        }
      }
      if (check(value)) return value;
      problems.push(`${name} must be ${what}`);
      return undefined;
    },
  };
}
