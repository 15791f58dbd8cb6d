import {
  looksSecret,
  REDACTED,
  redactEvent,
  redactJson,
  redactParams,
  redactResult,
  redactRunEvents,
  redactText,
  runSecrets,
  secretsInText,
} from '../../../subgraphs/workflows/redact';

describe('secret-looking names', () => {
  it.each([
    'OMERO_PASSWORD',
    'passwd',
    'SLURM_API_TOKEN',
    'aws_secret_access_key',
    'SSH_PRIVATE_KEY',
    'GIT_CREDENTIALS',
    'API_KEY',
    'MY_SECRET',
    'SSH_PASS',
    'AUTH_HEADER',
    'OMERO_PW',
    'db_pwd',
    'MYSQL_PWD',
    'SMB_PW_FILE',
  ])('%s is a secret', (name) => {
    expect(looksSecret(name)).toBe(true);
  });
  it.each(['DATA_PATH', 'IMAGE_VERSION', 'DIAMETER', 'USE_GPU', 'SINGULARITY_IMAGE', 'CONFIG_PATH', 'PWD', 'OLDPWD', 'PWDIR'])('%s is not', (name) => {
    expect(looksSecret(name)).toBe(false);
  });
});

describe('redaction of results', () => {
  const result = {
    command: 'export OMERO_PASSWORD=pw-123456 SLURM_API_TOKEN="tok en 42" DATA_PATH=/data && sbatch --output=omero-%j.log --ssh-password hunter2x jobs/x.sh',
    env: { OMERO_PASSWORD: 'pw-123456', SLURM_API_TOKEN: 'tok en 42', DATA_PATH: '/data', EMPTY_KEY: null },
    stdout: 'Submitted batch job 7\nlogged in with pw-123456\n',
    stderr: "warn: DB_PASS='x y z' and --token=abc.def\n",
  };
  const r = redactResult(result);

  it('replaces secret values in the environment and keeps the others, sorted by name', () => {
    expect(r.environment).toEqual([
      { name: 'DATA_PATH', value: '/data' },
      { name: 'EMPTY_KEY', value: REDACTED },
      { name: 'OMERO_PASSWORD', value: REDACTED },
      { name: 'SLURM_API_TOKEN', value: REDACTED },
    ]);
  });

  it('replaces NAME=value, quoted values and --flag value forms in the command line', () => {
    expect(r.command).toBe(
      `export OMERO_PASSWORD=${REDACTED} SLURM_API_TOKEN=${REDACTED} DATA_PATH=/data && sbatch --output=omero-%j.log --ssh-password ${REDACTED} jobs/x.sh`,
    );
  });

  it('replaces the secret values wherever else they appear, and the same forms in the output', () => {
    expect(r.stdout).toBe(`Submitted batch job 7\nlogged in with ${REDACTED}\n`);
    expect(r.stderr).toBe(`warn: DB_PASS=${REDACTED} and --token=${REDACTED}\n`);
    for (const text of [r.command, r.stdout, r.stderr, JSON.stringify(r.environment)]) {
      for (const secret of ['pw-123456', 'tok en 42', 'hunter2x', 'x y z', 'abc.def']) expect(text).not.toContain(secret);
    }
  });

  it('leaves text without secrets alone', () => {
    expect(redactText('sbatch --gres=gpu:1 --mem=15GB DATA_PATH=/x run.sh')).toBe('sbatch --gres=gpu:1 --mem=15GB DATA_PATH=/x run.sh');
  });

  it('redacts secret-looking parameter keys at any depth', () => {
    expect(redactParams({ diameter: 0, omero_password: 'p', nested: [{ api_token: 't', ok: 1 }] })).toEqual({
      diameter: 0,
      omero_password: REDACTED,
      nested: [{ api_token: REDACTED, ok: 1 }],
    });
  });
});

describe('secret forms in free text', () => {
  const S = 'Zq7x-Lm4.Vt9';
  it.each([
    ['*_PW', `export OMERO_PW=${S} && sbatch job.sh`, 'export OMERO_PW=[REDACTED] && sbatch job.sh'],
    ['*_PWD', `DB_PWD=${S} python x.py`, 'DB_PWD=[REDACTED] python x.py'],
    ['PASSWD', `PASSWD='${S}' ./login.sh`, 'PASSWD=[REDACTED] ./login.sh'],
    ['TOKEN flag', `sbatch --api-token ${S} job.sh`, 'sbatch --api-token [REDACTED] job.sh'],
    ['KEY', `API_KEY="${S}" run`, 'API_KEY=[REDACTED] run'],
    ['mysql -p<secret>', `mysql -u biomero -p${S} -h db omero`, 'mysql -u biomero -p[REDACTED] -h db omero'],
    ['mysqldump -p<secret>', `mysqldump -p'${S}' omero > x.sql`, 'mysqldump -p[REDACTED] omero > x.sql'],
    ['sshpass -p <secret>', `sshpass -p ${S} ssh slurm`, 'sshpass -p [REDACTED] ssh slurm'],
    ['sshpass -p<secret> after options', `sshpass -v -p${S} scp a b`, 'sshpass -v -p[REDACTED] scp a b'],
    ['curl -u user:<secret>', `curl -sS -u alice:${S} https://x.org`, 'curl -sS -u alice:[REDACTED] https://x.org'],
    ['curl --user "user:<secret>"', `curl --user "alice:${S}" https://x.org`, 'curl --user "alice:[REDACTED]" https://x.org'],
    ['URL user-info', `git clone https://alice:${S}@git.x.org/r.git`, 'git clone https://alice:[REDACTED]@git.x.org/r.git'],
    ['database URL', `SQLALCHEMY_URL=postgresql://biomero:${S}@db:5432/biomero`, 'SQLALCHEMY_URL=postgresql://biomero:[REDACTED]@db:5432/biomero'],
    ['Authorization: Bearer', `curl -H "Authorization: Bearer ${S}" https://x.org`, 'curl -H "Authorization: Bearer [REDACTED]" https://x.org'],
    ['Authorization in JSON', `{"Authorization": "Basic ${S}"}`, '{"Authorization": "[REDACTED]"}'],
    ['bare bearer token', `sent bearer ${S}abc to the API`, 'sent bearer [REDACTED] to the API'],
    ['JSON key', `{"omero_password": "${S}", "diameter": 0}`, '{"omero_password": "[REDACTED]", "diameter": 0}'],
    ['Python dict repr', `{'ssh_pass': '${S}', 'host': 'slurm'}`, "{'ssh_pass': '[REDACTED]', 'host': 'slurm'}"],
  ])('%s', (_, text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it.each([
    'mkdir -p /data/out && ssh -p 2222 slurm',
    'sshpass -f pwfile ssh -p 2222 slurm',
    'PWD=/home/alice OLDPWD=/tmp',
    'mysql -p omero',
    'sbatch --gres=gpu:1 --mem=15GB job.sh',
    'see https://example.org:8443/path@v2 and git@github.com:org/repo.git',
    'the bearer of news',
    'Authorization failed for alice',
  ])('leaves %s alone', (text) => {
    expect(redactText(text)).toBe(text);
  });

  it('finds the values each form reveals, and replaces known values verbatim, longest first', () => {
    expect(secretsInText(`mysql -p${S} && curl -u a:${S}2 x`)).toEqual([S, `${S}2`]);
    expect(redactText(`quoted ${S}2 and ${S}`, [S, `${S}2`])).toBe('quoted [REDACTED] and [REDACTED]');
    expect(redactText('on 1 abc', ['1', 'abc'])).toBe('on 1 abc'); // too short to replace verbatim
  });
});

describe('redaction of a run’s events', () => {
  const T = 'biomero.eventsourcing:';
  const uuid = { _type_: 'uuid_hex', _data_: '0000a1b2c3d4e5f60718293a4b5c6d7e' };
  const events = [
    { id: 1, topic: `${T}Task.TaskCreated`, state: { workflow_id: uuid, params: { note: 'retry with Hx9-secret-77' } } },
    { id: 2, topic: `${T}Task.ResultAdded`, state: { result: { command: 'sshpass -p Hx9-secret-77 ssh slurm', env: { DB_PWD: 'Pw-only-in-env' } } } },
    { id: 3, topic: `${T}Task.TaskFailed`, state: { error_message: 'env had Pw-only-in-env' } },
    { id: 4, topic: `${T}Task.StatusUpdated`, state: { status: 'FAILED Hx9-secret-77' } },
    { id: 5, topic: `${T}WorkflowRun.TaskAdded`, state: { task_id: { _type_: 'uuid_hex', _data_: 'Pw-only-in-env' } } },
  ];

  it('collects what any event reveals and replaces it in every event, before and after', () => {
    expect(runSecrets(events)).toEqual(['Pw-only-in-env', 'Hx9-secret-77']);
    const out = redactRunEvents(events);
    expect(out[0].state).toEqual({ workflow_id: uuid, params: { note: 'retry with [REDACTED]' } });
    expect(out[1].state).toEqual({ result: { command: 'sshpass -p [REDACTED] ssh slurm', env: { DB_PWD: REDACTED } } });
    expect(out[2].state).toEqual({ error_message: 'env had [REDACTED]' });
    expect(out[3].state).toEqual({ status: 'FAILED [REDACTED]' });
    // eventsourcing's own encodings are not BIOMERO text
    expect(out[4].state).toEqual(events[4].state);
    expect(out.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('is idempotent, and collects nothing from redacted text', () => {
    const once = redactRunEvents(events);
    expect(redactRunEvents(once)).toEqual(once);
    expect(runSecrets(once)).toEqual([]);
  });

  it('takes secrets known from elsewhere (a newer event of the run)', () => {
    expect(redactEvent(events[3], ['Hx9-secret-77']).state).toEqual({ status: 'FAILED [REDACTED]' });
    expect(redactJson({ a: ['x Hx9-secret-77 y'], cert_file: { path: '/k' } }, ['Hx9-secret-77'])).toEqual({ a: ['x [REDACTED] y'], cert_file: REDACTED });
  });
});
