/**
 * Settings read from the environment, in one place (docs/configuration.md lists them).
 */
export const DEFAULT_PORTS = {
  gateway: 4000,
  omero: 4001,
  imports: 4002,
  workflows: 4003,
  forms: 4004,
  provenance: 4005,
} as const;

export type ServiceName = Exclude<keyof typeof DEFAULT_PORTS, 'gateway'>;
export const SUBGRAPH_NAMES: ServiceName[] = ['omero', 'imports', 'workflows', 'forms', 'provenance'];

/**
 * The development secret: published here, so accepted in demo mode only (the rules are in
 * production.ts, `startupRules`).
 */
export const DEV_IDENTITY_SECRET = 'omero-graph-development-secret-do-not-use-in-production';

export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}".`);
  return value;
}

export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set.`);
  return value;
}

export function portFor(service: ServiceName | 'gateway', env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, `${service.toUpperCase()}_PORT`, DEFAULT_PORTS[service]);
}
