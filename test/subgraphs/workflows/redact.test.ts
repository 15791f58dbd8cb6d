import { looksSecret, REDACTED, redactParams, redactResult, redactText } from '../../../subgraphs/workflows/redact';

describe('secret-looking names', () => {
  it.each(['OMERO_PASSWORD', 'passwd', 'SLURM_API_TOKEN', 'aws_secret_access_key', 'SSH_PRIVATE_KEY', 'GIT_CREDENTIALS', 'API_KEY', 'MY_SECRET', 'SSH_PASS', 'AUTH_HEADER'])('%s is a secret', (name) => {
    expect(looksSecret(name)).toBe(true);
  });
  it.each(['DATA_PATH', 'IMAGE_VERSION', 'DIAMETER', 'USE_GPU', 'SINGULARITY_IMAGE', 'CONFIG_PATH'])('%s is not', (name) => {
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
    expect(r.command).toBe(`export OMERO_PASSWORD=${REDACTED} SLURM_API_TOKEN=${REDACTED} DATA_PATH=/data && sbatch --output=omero-%j.log --ssh-password ${REDACTED} jobs/x.sh`);
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
    expect(redactParams({ diameter: 0, omero_password: 'p', nested: [{ api_token: 't', ok: 1 }] })).toEqual({ diameter: 0, omero_password: REDACTED, nested: [{ api_token: REDACTED, ok: 1 }] });
  });
});
