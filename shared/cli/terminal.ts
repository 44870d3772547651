import { ConfigError, errorMessage } from '../errors';

/** A one-line progress bar on stderr, drawn only when stderr is a terminal (never in CI logs). */
export function progressBar(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): (done: number) => void {
  const width = 30;
  return (done) => {
    if (!stream.isTTY || total <= 1) return;
    const filled = Math.round((done / total) * width);
    stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`);
    if (done >= total) stream.write('\n');
  };
}

/** Reads a duration such as `90s`, `30m`, `6h` or `3d` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration: write e.g. 30m, 6h or 3d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** Two aligned columns, for a CLI's summary. */
export function formatTable(rows: ReadonlyArray<readonly [string, string | number]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/**
 * Runs a command's `main` and exits with its code: 0 and 1 are the command's own answers (all
 * well, something found); 2 is what it could not do. A ConfigError (a wrong flag or setting) is
 * printed with the usage under it, any other error as `<name>: <message>`.
 */
export function runCommand(name: string, usage: string, main: () => Promise<number>): void {
  // The AWS SDK warns on every command under Node.js 20 that its releases after January 2027 need
  // Node.js 22 (its emitWarningIfUnsupportedVersion): noise on every line an operator reads. Node.js
  // 20 is still supported here; docs/development.md recommends 22.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof ConfigError) console.error(`${error.message}\n\n${usage}`);
      else console.error(`${name}: ${errorMessage(error)}`);
      process.exit(2);
    },
  );
}
