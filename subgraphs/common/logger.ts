import pino from 'pino';

/** Structured JSON logs. LOG_LEVEL=silent in tests unless asked for. */
export const logger = pino({
  name: 'omero-graph',
  level: process.env.LOG_LEVEL ?? (process.env.JEST_WORKER_ID ? 'silent' : 'info'),
});
