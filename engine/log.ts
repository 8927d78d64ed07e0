/** @module Structured logging: one JSON line per event (pino). Never pass key material or personal data. */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** File to append to; stdout when omitted. */
  file?: string;
}

export function createLogger(name: string, options: LogOptions = {}): Logger {
  const destination = options.file ? pino.destination({ dest: options.file, mkdir: true, sync: false }) : pino.destination(1);
  return pino(
    {
      name,
      level: options.level ?? process.env.JILIAN_LOG_LEVEL ?? 'info',
      base: { name },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A second line of defence: nothing should pass these, and the access log never logs headers or queries.
      redact: {
        paths: [
          'secretKey',
          '*.secretKey',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'cookie',
          '*.cookie',
          'password',
          '*.password',
          'headers.authorization',
          'headers.cookie',
          '*.headers.authorization',
          '*.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
