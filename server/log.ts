/**
 * @module Structured logs: one JSON object per line on stdout (stderr for warn/error), so a log
 * shipper can parse them without configuration.
 */

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevelName = keyof typeof LogLevel;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function isLogLevel(value: string): value is LogLevelName {
  return Object.hasOwn(LogLevel, value);
}

export function createLogger(
  level: LogLevelName = 'info',
  base: Record<string, unknown> = {},
): Logger {
  const threshold = LogLevel[level];
  const write = (
    name: Exclude<LogLevelName, 'silent'>,
    msg: string,
    fields?: Record<string, unknown>,
  ) => {
    if (LogLevel[name] < threshold) return;
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level: name,
      msg,
      ...base,
      ...serialise(fields),
    });
    (LogLevel[name] >= LogLevel.warn ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

/** Errors do not survive JSON.stringify; keep their name, code, message, stack and cause. */
function serialise(fields?: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    out[key] = value instanceof Error ? errorFields(value) : value;
  return out;
}

function errorFields(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    code: (error as { code?: unknown }).code,
    stack: error.stack,
    cause: error.cause instanceof Error ? errorFields(error.cause) : error.cause,
  };
}
