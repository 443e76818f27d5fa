/**
 * @module log
 * nori's pino loggers, with every line's size bounded: a string field (or the message) longer than
 * MAX_LOG_STRING is cut with a marker saying how much was left out, so one request cannot write a line of
 * megabytes (a driver's error carried the whole generated SQL: 1.7 MB for a 1 MB request). Lines stay JSON.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** Longest string kept whole in a log line; a line holds a few of them at most, so it stays under 16 KiB. */
export const MAX_LOG_STRING = 2048;
/** How deep objects of a log line are walked; deeper values are replaced by a marker. */
const MAX_DEPTH = 4;
/** Most keys or items kept of one object or array. */
const MAX_ENTRIES = 32;

export function truncate(text: string, max = MAX_LOG_STRING): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters cut]`;
}

/** A copy of a log line's fields with strings cut, depth and breadth bounded; errors keep name, code, message. */
export function boundFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return truncate(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return { type: e.name, message: truncate(e.message), ...(e.code !== undefined ? { code: boundFields(e.code, depth + 1) } : {}) };
  }
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ENTRIES).map((v) => boundFields(v, depth + 1));
    return value.length > MAX_ENTRIES ? [...kept, `[${value.length - MAX_ENTRIES} more items cut]`] : kept;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key of Object.keys(value)) {
    if (n++ === MAX_ENTRIES) {
      out['…'] = `[${Object.keys(value).length - MAX_ENTRIES} more fields cut]`;
      break;
    }
    out[key] = boundFields((value as Record<string, unknown>)[key], depth + 1);
  }
  return out;
}

/** A pino logger whose every line is bounded (see the module). */
export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const bounded: LoggerOptions = {
    ...options,
    formatters: { ...options.formatters, log: (fields) => boundFields(options.formatters?.log ? options.formatters.log(fields) : fields) as Record<string, unknown> },
    hooks: {
      ...options.hooks,
      logMethod(args, method) {
        const cut = args.map((a) => (typeof a === 'string' ? truncate(a) : a)) as Parameters<typeof method>;
        return method.apply(this, cut);
      },
    },
  };
  return destination ? pino(bounded, destination) : pino(bounded);
}
