/**
 * Secrets in task results. BIOMERO stores Fabric's result of every remote command, with the
 * environment it ran with (`env`) and the command line itself, where variables are often inlined
 * (`inline_ssh_env`: `export OMERO_PASSWORD=… && sbatch …`). Values of variables whose names look
 * like secrets are replaced by REDACTED wherever they appear: in the environment, as `NAME=value`
 * or `--name value` in command lines and output, and verbatim anywhere else in the same result.
 */
export const REDACTED = '[REDACTED]';

/** Parts of a variable name that mark it as a secret (matched case-insensitively). */
const SECRET_NAME = /PASS(WORD|WD|PHRASE)?|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|COOKIE|SESSION|SIGNATURE|CERT/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Shortest value redacted verbatim elsewhere: shorter ones ("1", "on") would blank out unrelated text. */
const MIN_VERBATIM = 4;

const ASSIGNMENT = /\b([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s;&|]*)/g;
const FLAG = /(--?)([A-Za-z][A-Za-z0-9_-]*)(=|\s+)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s;&|-][^\s;&|]*)/g;

/** `NAME=value` and `--name value` forms with secret-looking names, in free text. */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text.replace(ASSIGNMENT, (whole, name: string) => (looksSecret(name) ? `${name}=${REDACTED}` : whole));
  out = out.replace(FLAG, (whole, dashes: string, name: string, sep: string) => (looksSecret(name) ? `${dashes}${name}${sep}${REDACTED}` : whole));
  for (const secret of knownSecrets) {
    if (secret.length >= MIN_VERBATIM) out = out.split(secret).join(REDACTED);
  }
  return out;
}

export interface TaskResultInput {
  command?: unknown;
  env?: unknown;
  stdout?: unknown;
  stderr?: unknown;
}

export interface RedactedResult {
  command: string | null;
  environment: { name: string; value: string | null }[];
  stdout: string | null;
  stderr: string | null;
}

const text = (v: unknown): string | null => (v == null ? null : typeof v === 'string' ? v : JSON.stringify(v));

export function redactResult(result: TaskResultInput): RedactedResult {
  const env = result.env && typeof result.env === 'object' && !Array.isArray(result.env) ? (result.env as Record<string, unknown>) : {};
  const secrets = Object.entries(env)
    .filter(([name, value]) => looksSecret(name) && value != null)
    .map(([, value]) => String(value))
    .sort((a, b) => b.length - a.length);
  const clean = (v: unknown) => {
    const t = text(v);
    return t == null ? null : redactText(t, secrets);
  };
  return {
    command: clean(result.command),
    environment: Object.entries(env)
      .map(([name, value]) => ({ name, value: looksSecret(name) ? REDACTED : value == null ? null : redactText(String(value), secrets) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    stdout: clean(result.stdout),
    stderr: clean(result.stderr),
  };
}

/** Parameters (script inputs) with secret-looking keys, at any depth. */
export function redactParams(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactParams);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, looksSecret(k) ? REDACTED : redactParams(v)]));
  }
  return value;
}
