/** A Temporal MockActivityEnvironment whose log lines are kept for assertions, not printed. */
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';

/** One log line. */
export interface LogLine {
  level: LogLevel;
  message: string;
  meta?: LogMetadata;
}

/** A logger that keeps its lines in `lines`. */
export function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, meta?: LogMetadata): void => {
      lines.push({ level, message, ...(meta ? { meta } : {}) });
    };
  return {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}

/** An activity environment logging into `lines`. */
export function quietActivityEnvironment(lines: LogLine[] = []): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: recordingLogger(lines) });
}
