import { eventType, TOPIC_PREFIX } from './events';

/**
 * Secrets in BIOMERO's text (docs/security.md, Secrets in workflow runs). BIOMERO stores Fabric's
 * result of every remote command with the environment it ran with (`env`) and the command line,
 * where variables are inlined (`inline_ssh_env`: `export OMERO_PASSWORD=… && sbatch …`); its error
 * messages and task results quote commands too. Two rules:
 *
 * - forms: values of keys with secret-looking names (anywhere in an event's JSON), and the secret
 *   part of the forms in SECRET_FORMS (in any string), read REDACTED;
 * - everywhere in a run: every value a form revealed in any event of a run is also replaced
 *   verbatim in every string of every event of that run (values of MIN_VERBATIM+ characters).
 *
 * Events are redacted where they are decoded (source/events.ts), so no reader can forget.
 */
export const REDACTED = '[REDACTED]';

/**
 * Parts of a variable name that mark it as a secret (case-insensitive). `_PW`/`_PWD` need the
 * underscore: a bare `PWD` is the shell's working directory.
 */
const SECRET_NAME = /PASS(WORD|WD|PHRASE)?|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|COOKIE|SESSION|SIGNATURE|CERT|_PWD?(_|$)/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Shortest value redacted verbatim elsewhere: shorter ones ("1", "on") would blank out unrelated text. */
const MIN_VERBATIM = 4;

/** A shell word: double-quoted (with escapes), single-quoted, or bare up to a separator. */
const WORD = `"(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s;&|'"]+`;
/** Commands whose `-p<secret>` (attached) is a password; `-p` alone makes them prompt. */
const MYSQL = `\\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\\b[^\\n;&|]*?\\s-p`;

/**
 * The secret forms in free text. Each regex has a `keep` group (written back) and a `secret` group
 * (replaced); a `name` group, when present, must look secret for the match to count.
 */
const SECRET_FORMS: readonly RegExp[] = [
  // Authorization: Bearer <token> (also Basic, Token, …; quoted or in JSON), before NAME=value
  new RegExp(`(?<keep>\\bAuthorization["']?\\s*[:=]\\s*["']?(?:(?:Bearer|Basic|Token|Digest|Negotiate)\\s+)?)(?<secret>[^\\s"',;]+)`, 'gi'),
  // a bare bearer token (logs print them without the header name); 8+ token characters, not prose
  new RegExp(`(?<keep>\\bBearer\\s+)(?<secret>[A-Za-z0-9\\-._~+/]{8,}=*)`, 'gi'),
  // scheme://user:<secret>@host
  new RegExp(`(?<keep>\\b[A-Za-z][A-Za-z0-9+.-]*://[^\\s/?#@:'"]*:)(?<secret>[^\\s/?#@'"]+)(?=@)`, 'g'),
  // mysql -p<secret> (and mysqldump, mysqladmin, mariadb)
  new RegExp(`(?<keep>${MYSQL})(?<secret>${WORD})`, 'g'),
  // sshpass -p <secret> / -p<secret>, among sshpass's own options (not the -p of the command it runs)
  new RegExp(`(?<keep>\\bsshpass(?:\\s+-(?!p)\\S*(?:\\s+(?!-)\\S+)?)*\\s+-p\\s*)(?<secret>${WORD})`, 'g'),
  // curl -u user:<secret> / --user / --proxy-user / -U, quoted or not
  new RegExp(`(?<keep>\\bcurl\\b[^\\n;&|]*?\\s(?:-u|-U|--user|--proxy-user)(?:\\s+|=)?["']?[^\\s:'"]*:)(?<secret>[^\\s'"]+)`, 'g'),
  // "name": "value" / 'name': 'value' (JSON, Python dict reprs in output)
  new RegExp(`(?<keep>(["'])(?<name>[A-Za-z_][\\w.-]*)\\2\\s*:\\s*(["']))(?<secret>(?:(?!\\4)[^\\\\]|\\\\.)*)(?=\\4)`, 'g'),
  // NAME=value (environment, export, inline variables)
  new RegExp(`(?<keep>\\b(?<name>[A-Za-z_][A-Za-z0-9_]*)=)(?<secret>"(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s;&|]*)`, 'g'),
  // --name value / --name=value / -name value
  new RegExp(`(?<keep>--?(?<name>[A-Za-z][A-Za-z0-9_-]*)(?:=|\\s+))(?<secret>"(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s;&|-][^\\s;&|]*)`, 'g'),
];

/** Cheap test that a string may hold a form at all: most strings of a run (statuses, times) do not. */
const MAY_HOLD_FORM = /[=@:]|\s-|^-|bearer|authorization/i;

function unquote(value: string): string {
  return value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0] ? value.slice(1, -1) : value;
}

/** Worth replacing verbatim elsewhere: long enough, and not already a placeholder. */
function verbatim(value: string): boolean {
  return value.length >= MIN_VERBATIM && !value.includes(REDACTED);
}

/** Applies the forms to `text`; the secret values found go to `found` (when given). */
function applyForms(text: string, found?: Set<string>): string {
  if (!MAY_HOLD_FORM.test(text)) return text;
  let out = text;
  for (const form of SECRET_FORMS) {
    out = out.replace(form, (...args) => {
      const groups = args.at(-1) as { keep: string; secret: string; name?: string };
      if (groups.name !== undefined && !looksSecret(groups.name)) return args[0] as string;
      const secret = unquote(groups.secret);
      if (secret === '' || secret === REDACTED) return args[0] as string;
      if (found && verbatim(secret)) found.add(secret);
      return `${groups.keep}${REDACTED}`;
    });
  }
  return out;
}

/** Longest first, so a secret that contains another is replaced whole. */
function bySize(secrets: Iterable<string>): string[] {
  return [...new Set(secrets)].sort((a, b) => b.length - a.length);
}

/** The forms in `text`, then every known secret verbatim. */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  return redactSorted(text, knownSecrets.length > 1 ? bySize(knownSecrets) : knownSecrets);
}

/** redactText with the known secrets longest first. */
function redactSorted(text: string, knownSecrets: readonly string[]): string {
  // most strings hold no form: then the known secrets, already in order, are all there is to do
  if (!MAY_HOLD_FORM.test(text) && knownSecrets.length === 0) return text;
  const found = new Set<string>();
  let out = applyForms(text, found);
  const secrets = found.size ? bySize([...knownSecrets, ...found]) : knownSecrets;
  for (const secret of secrets) {
    if (verbatim(secret) && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** Secret values in `text` by form (what redactText would replace there), for collecting a run's secrets. */
export function secretsInText(text: string): string[] {
  const found = new Set<string>();
  applyForms(text, found);
  return [...found];
}

/** eventsourcing's own encodings (UUIDs, datetimes): never BIOMERO text, left alone. */
function isTranscoded(value: Record<string, unknown>): boolean {
  return (value._type_ === 'uuid_hex' || value._type_ === 'datetime_iso') && typeof value._data_ === 'string';
}

/** Every string leaf of a JSON value (the values of a secret-looking key). */
function stringLeaves(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    if (verbatim(value)) out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) stringLeaves(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) stringLeaves(v, out);
  }
}

function collect(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    for (const s of secretsInText(value)) out.add(s);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
  } else if (value && typeof value === 'object' && !isTranscoded(value as Record<string, unknown>)) {
    for (const [k, v] of Object.entries(value)) {
      if (looksSecret(k)) stringLeaves(v, out);
      else collect(v, out);
    }
  }
}

/**
 * A JSON value with secret-looking keys' values replaced (the whole value, at any depth) and
 * every string redacted (forms, then the known secrets verbatim).
 */
export function redactJson(value: unknown, knownSecrets: readonly string[] = []): unknown {
  return redactValue(value, bySize(knownSecrets));
}

/** redactJson with the secrets in order; what did not change is returned as it was (no copy). */
function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redactSorted(value, secrets);
  if (Array.isArray(value)) {
    const out = value.map((v) => redactValue(v, secrets));
    return out.some((v, i) => v !== value[i]) ? out : value;
  }
  if (value && typeof value === 'object') {
    if (isTranscoded(value as Record<string, unknown>)) return value;
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = looksSecret(k) ? REDACTED : redactValue(v, secrets);
      if (out[k] !== v) changed = true;
    }
    return changed ? out : value;
  }
  return value;
}

/**
 * Events whose fields are only statuses, progress, job ids and links: a run's secrets are not
 * collected from them (so the live path need not read a run's thousands of progress updates),
 * though their strings are still redacted like any other.
 */
const STATUS_EVENTS = new Set([
  'Task.StatusUpdated',
  'Task.ProgressUpdated',
  'Task.JobIdAdded',
  'Task.TaskStarted',
  'WorkflowRun.TaskAdded',
  'WorkflowRun.WorkflowStarted',
  'WorkflowRun.WorkflowCompleted',
]);
/** Their topics, for SQL that reads only the events a run's secrets can come from. */
export const STATUS_EVENT_TOPICS = [...STATUS_EVENTS].map((type) => `${TOPIC_PREFIX}${type}`);

export interface EventText {
  topic: string;
  state: Record<string, unknown>;
}

/** Every secret value the events of one run reveal (by key name or by form), longest first. */
export function runSecrets(events: readonly EventText[]): string[] {
  const found = new Set<string>();
  for (const e of events) if (!STATUS_EVENTS.has(eventType(e.topic))) collect(e.state, found);
  return bySize(found);
}

/** The event with its state redacted; `secrets` are the run's (runSecrets). */
export function redactEvent<E extends EventText>(event: E, secrets: readonly string[]): E {
  const state = redactJson(event.state, secrets) as Record<string, unknown>;
  return state === event.state ? event : { ...event, state };
}

/** One run's events (its own and its tasks'), each redacted with the secrets of all of them. */
export function redactRunEvents<E extends EventText>(events: readonly E[], knownSecrets: readonly string[] = []): E[] {
  const secrets = bySize([...knownSecrets, ...runSecrets(events)]);
  return events.map((e) => {
    const state = redactValue(e.state, secrets) as Record<string, unknown>;
    return state === e.state ? e : { ...e, state };
  });
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

/** A Fabric result in the API's shape (environment as a sorted list), redacted on its own as well. */
export function redactResult(result: TaskResultInput): RedactedResult {
  const env = result.env && typeof result.env === 'object' && !Array.isArray(result.env) ? (result.env as Record<string, unknown>) : {};
  const found = new Set<string>();
  collect(result, found);
  const secrets = bySize(found);
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

/** Parameters (script inputs) with secret-looking keys, at any depth, and secret forms in their strings. */
export function redactParams(value: unknown): unknown {
  const found = new Set<string>();
  collect(value, found);
  return redactJson(value, bySize(found));
}
