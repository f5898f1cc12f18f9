/**
 * Structured logs: one JSON object per line (`ts` ISO time, `level`, `msg`, then fields), so a
 * log shipper or `jq` can read them. Tests pass a sink that keeps the records.
 */

/** Log levels, least severe first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One log record before serialisation. */
export type LogFields = Record<string, string | number | boolean | undefined | null>;

/** A structured logger. */
export interface HubLog {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

/** A logger writing JSON lines to `write` (stdout by default). */
export function jsonLineLog(write: (line: string) => void = (l) => process.stdout.write(l)): HubLog {
  return {
    log(level, msg, fields = {}) {
      write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })}\n`);
    },
  };
}

/** A logger that keeps records in memory (tests). */
export function memoryLog(): HubLog & { records: ({ level: LogLevel; msg: string } & LogFields)[] } {
  const records: ({ level: LogLevel; msg: string } & LogFields)[] = [];
  return {
    records,
    log(level, msg, fields = {}) {
      if (records.length >= 10_000) records.shift();
      records.push({ level, msg, ...fields });
    },
  };
}
