/**
 * POSIX shell quoting for `stack env`: each line is `export KEY='value'`, so that
 * `eval "$(npm run -s stack -- env)"` sets the variables and hands them to child processes,
 * whatever the values hold (spaces, quotes, `$`, newlines).
 */

/** `value` as one single-quoted shell word (a `'` inside becomes `'\''`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `export KEY='value'` lines; keys that are not shell identifiers are refused. */
export function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        throw new Error(`not a shell variable name: ${JSON.stringify(key)}`);
      }
      return `export ${key}=${shellQuote(value)}\n`;
    })
    .join('');
}
