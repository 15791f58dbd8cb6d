import { generateKeyPairSync, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkJobIds,
  chunks,
  logTailCommand,
  MAX_LOG_LINES,
  sacctCommand,
  scancelCommand,
  shellQuote,
  squeueCommand,
} from '../../../../subgraphs/workflows/slurm/commands';
import { knownHostKeys, parseHostKeyList, slurmConfigFromEnv } from '../../../../subgraphs/workflows/slurm/config';
import { SlurmError } from '../../../../subgraphs/workflows/slurm/errors';
import {
  isUnknownJobError,
  lastPercentage,
  normalizeState,
  parseLogTails,
  parseSacct,
  parseSlurmTime,
  parseSqueue,
} from '../../../../subgraphs/workflows/slurm/parse';

const utc = (s: string) => new Date(`${s}Z`);

describe('job id validation', () => {
  test('accepts positive integers and removes duplicates', () => {
    expect(checkJobIds([3, 1, 3, 4294967294])).toEqual([3, 1, 4294967294]);
    expect(checkJobIds([])).toEqual([]);
  });

  test.each([
    ['a shell injection string', '1; rm -rf ~'],
    ['a numeric string', '12'],
    ["BIOMERO's -1 for a failed sbatch", -1],
    ['zero', 0],
    ['a fraction', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['beyond 32 bits', 2 ** 32],
    ['null', null],
    ['an object', { toString: () => '1' }],
  ])('refuses %s with BAD_USER_INPUT', (_what, id) => {
    const attempt = () => checkJobIds([1, id as number]);
    expect(attempt).toThrow(SlurmError);
    try {
      attempt();
    } catch (error) {
      expect((error as SlurmError).extensions.code).toBe('BAD_USER_INPUT');
    }
  });

  test('every command builder validates again', () => {
    const bad = ['7 && id'] as unknown as number[];
    expect(() => sacctCommand(bad)).toThrow(SlurmError);
    expect(() => squeueCommand(bad)).toThrow(SlurmError);
    expect(() => scancelCommand(bad)).toThrow(SlurmError);
    expect(() => logTailCommand('data', bad, 10, 'm1')).toThrow(SlurmError);
  });
});

describe('commands', () => {
  test('are built from fixed text and the ids only', () => {
    expect(sacctCommand([12, 13])).toBe(
      'TZ=UTC SLURM_TIME_FORMAT=standard sacct --allusers --allocations --noheader --parsable2 --format=JobID,State,ExitCode,Submit,Start,End --jobs=12,13',
    );
    expect(squeueCommand([12])).toBe("TZ=UTC SLURM_TIME_FORMAT=standard squeue --noheader --format='%i|%T|%V|%S' --jobs=12");
    expect(scancelCommand([12, 13])).toBe('scancel 12 13');
  });

  test('the log folder is single-quoted, whatever it holds', () => {
    const cmd = logTailCommand(`/data/it's $(id) \`x\``, [5], 10, 'MARK');
    expect(cmd).toContain(`f='/data/it'\\''s $(id) \`x\`'/omero-$j.log`);
    expect(cmd).toContain('tail -n 10 --');
    expect(() => shellQuote('a\nb')).toThrow();
  });

  test('log tail length is bounded', () => {
    expect(() => logTailCommand('d', [1], 0, 'M')).toThrow(SlurmError);
    expect(() => logTailCommand('d', [1], MAX_LOG_LINES + 1, 'M')).toThrow(SlurmError);
    expect(() => logTailCommand('d', [1], MAX_LOG_LINES, 'M')).not.toThrow();
    expect(() => logTailCommand('d', [1], 2.5, 'M')).toThrow(SlurmError);
  });

  test('long id lists are split into chunks', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('sacct output', () => {
  test('states, exit codes and UTC times', () => {
    const out = [
      '101|COMPLETED|0:0|2026-11-21T16:20:03|2026-11-21T16:20:04|2026-11-21T16:20:09',
      '102|CANCELLED by 1001|0:15|2026-11-21T16:25:32|None|2026-11-21T16:25:33',
      '103|PENDING|0:0|2026-11-21T16:25:40|Unknown|Unknown',
      '104|TIMEOUT+|0:0|2026-11-21T16:00:00|2026-11-21T16:00:01|2026-11-21T17:00:01',
      '999|COMPLETED|0:0|2026-11-21T16:00:00|2026-11-21T16:00:01|2026-11-21T16:00:02',
      '',
    ].join('\n');
    const states = parseSacct(out, [101, 102, 103, 104, 105]);
    expect([...states.keys()]).toEqual([101, 102, 103, 104]); // 999 not asked for, 105 unknown
    expect(states.get(101)).toEqual({
      jobId: 101,
      state: 'COMPLETED',
      exitCode: '0:0',
      source: 'sacct',
      submittedAt: utc('2026-11-21T16:20:03'),
      startedAt: utc('2026-11-21T16:20:04'),
      endedAt: utc('2026-11-21T16:20:09'),
    });
    expect(states.get(102)).toMatchObject({ state: 'CANCELLED', exitCode: '0:15', startedAt: null });
    expect(states.get(103)).toMatchObject({ state: 'PENDING', startedAt: null, endedAt: null });
    expect(states.get(104)!.state).toBe('TIMEOUT');
  });

  test('array tasks fold into one state for the array job id', () => {
    const running = parseSacct(
      [
        '200_1|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-01T00:00:05',
        '200_2|RUNNING|0:0|2026-01-01T00:00:00|2026-01-01T00:00:02|Unknown',
        '200_[3-4]|PENDING|0:0|2026-01-01T00:00:00|Unknown|Unknown',
      ].join('\n'),
      [200],
    ).get(200)!;
    expect(running).toMatchObject({ state: 'RUNNING', startedAt: utc('2026-01-01T00:00:01'), endedAt: null });
    const failed = parseSacct(
      [
        '200_1|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-01T00:00:05',
        '200_2|FAILED|1:0|2026-01-01T00:00:00|2026-01-01T00:00:02|2026-01-01T00:00:09',
      ].join('\n'),
      [200],
    ).get(200)!;
    expect(failed).toMatchObject({ state: 'FAILED', exitCode: '1:0', endedAt: utc('2026-01-01T00:00:09') });
    const done = parseSacct(
      '200_1|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-01T00:00:05\n200_2|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-01T00:00:06',
      [200],
    ).get(200)!;
    expect(done).toMatchObject({ state: 'COMPLETED', exitCode: '0:0', endedAt: utc('2026-01-01T00:00:06') });
  });

  test('state and time helpers', () => {
    expect(normalizeState('CANCELLED by 0')).toBe('CANCELLED');
    expect(normalizeState('cancelled+')).toBe('CANCELLED');
    expect(parseSlurmTime('N/A')).toBeNull();
    expect(parseSlurmTime('')).toBeNull();
    expect(parseSlurmTime('2026-11-21T11:25:33')!.toISOString()).toBe('2026-11-21T11:25:33.000Z');
  });
});

describe('squeue output', () => {
  test('a pending job has no start time (squeue prints a forecast)', () => {
    const states = parseSqueue('7|PENDING|2026-11-21T16:25:33|2026-11-21T16:30:00\n8|RUNNING|2026-11-21T16:25:33|2026-11-21T16:25:34\n', [7, 8]);
    expect(states.get(7)).toEqual({
      jobId: 7,
      state: 'PENDING',
      exitCode: null,
      submittedAt: utc('2026-11-21T16:25:33'),
      startedAt: null,
      endedAt: null,
      source: 'squeue',
    });
    expect(states.get(8)).toMatchObject({ state: 'RUNNING', startedAt: utc('2026-11-21T16:25:34') });
  });

  test('pending array tasks and the unknown-id error', () => {
    expect(parseSqueue('6_[1-3]|PENDING|2026-11-21T16:25:33|N/A\n', [6]).get(6)!.state).toBe('PENDING');
    expect(isUnknownJobError('slurm_load_jobs error: Invalid job id specified\n')).toBe(true);
    expect(isUnknownJobError('slurm_load_jobs error: Unable to contact slurm controller')).toBe(false);
  });
});

describe('log tails', () => {
  test('sections by marker; text before the first marker and forged markers are ignored', () => {
    const marker = 'omero-graph-abc123';
    const out = `banner\n\n${marker} 5\nstep 1\n10%\n43%\n\n${marker} 6\nno progress here\nomero-graph-forged 7\n`;
    const tails = parseLogTails(out, marker);
    expect([...tails.keys()]).toEqual([5, 6]);
    expect(tails.get(5)).toEqual({ jobId: 5, tail: 'step 1\n10%\n43%', progress: 43 });
    expect(tails.get(6)).toEqual({ jobId: 6, tail: 'no progress here\nomero-graph-forged 7', progress: null });
  });

  test('progress is the last percentage, as BIOMERO reads it', () => {
    expect(lastPercentage('Progress: 5%\nProgress: 68.5%\n')).toBe(68.5);
    expect(lastPercentage('12% done, then 250% overshoot')).toBe(12);
    expect(lastPercentage('100%|██████████| 10/10')).toBe(100);
    expect(lastPercentage('nothing')).toBeNull();
  });
});

describe('settings', () => {
  const edKey = () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const name = Buffer.from('ssh-ed25519');
    const blob = Buffer.concat([u32(name.length), name, u32(raw.length), raw]);
    return { line: `ssh-ed25519 ${blob.toString('base64')}`, blob };
  };

  test('no SLURM_HOST: no cluster', () => {
    expect(slurmConfigFromEnv({})).toBeNull();
  });

  test('a host without a known host key is refused (no trust on first use)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slurm-config-'));
    writeFileSync(join(dir, 'key'), 'not used');
    expect(() => slurmConfigFromEnv({ SLURM_HOST: 'login', SLURM_USER: 'u', SLURM_PRIVATE_KEY_FILE: join(dir, 'key') })).toThrow(/host key/);
    expect(() => slurmConfigFromEnv({ SLURM_HOST: 'login', SLURM_PRIVATE_KEY_FILE: join(dir, 'key') })).toThrow(/SLURM_USER/);
  });

  test('full settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slurm-config-'));
    writeFileSync(join(dir, 'key'), 'PRIVATE');
    const key = edKey();
    const config = slurmConfigFromEnv({
      SLURM_HOST: 'login',
      SLURM_USER: 'u',
      SLURM_PRIVATE_KEY_FILE: join(dir, 'key'),
      SLURM_HOST_KEY: key.line,
      SLURM_PORT: '2200',
      SLURM_POLL_INTERVAL_MS: '2000',
      SLURM_LOG_DIR: '/scratch/data',
    })!;
    expect(config).toMatchObject({ host: 'login', port: 2200, user: 'u', logDir: '/scratch/data', pollIntervalMs: 2000, poolSize: 2 });
    expect(config.privateKey.toString()).toBe('PRIVATE');
    expect(config.hostKeys).toEqual([{ type: 'ssh-ed25519', key: key.blob }]);
    expect(() =>
      slurmConfigFromEnv({ SLURM_HOST: 'login', SLURM_USER: 'u', SLURM_PRIVATE_KEY_FILE: join(dir, 'key'), SLURM_HOST_KEY: key.line, SLURM_POOL_SIZE: '0' }),
    ).toThrow(/SLURM_POOL_SIZE/);
  });

  test('known_hosts: plain, [host]:port, hashed, revoked and other hosts', () => {
    const [a, b, c, d] = [edKey(), edKey(), edKey(), edKey()];
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[login]:2200').digest('base64')}`;
    const text = [
      '# comment',
      `other,[login]:2200 ${a.line}`,
      `${hashed} ${b.line} comment`,
      `login ${c.line}`, // port 22 only
      `[login]:2200 ${d.line}`,
      `@revoked [login]:2200 ${d.line}`,
      `@cert-authority * ${c.line}`,
    ].join('\n');
    expect(knownHostKeys(text, 'login', 2200).map((k) => k.key)).toEqual([a.blob, b.blob]);
    expect(knownHostKeys(text, 'login', 22).map((k) => k.key)).toEqual([c.blob]);
    expect(() => parseHostKeyList('ssh-rsa ' + a.line.split(' ')[1])).toThrow(/SLURM_HOST_KEY/); // type mismatch
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
