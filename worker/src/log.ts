/**
 * Structured logs: one JSON object per line on the console (Workers Logs and `wrangler dev`
 * keep them as they are), always carrying the request id (or the job id in the dispatcher),
 * so one grep follows a request from the edge through the dispatcher to the runner.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: Record<string, unknown>): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** LOG_LEVEL from the environment (debug | info | warn | error); default info. */
export function logLevelFrom(env: object): LogLevel {
  const value = (env as Record<string, unknown>).LOG_LEVEL;
  return typeof value === 'string' && value in RANK ? (value as LogLevel) : 'info';
}

export function createLogger(base: Record<string, unknown>, minLevel: LogLevel = 'info'): Logger {
  const write = (level: LogLevel, message: string, fields: Record<string, unknown> = {}): void => {
    if (RANK[level] < RANK[minLevel]) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...base, ...fields });
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel),
  };
}
