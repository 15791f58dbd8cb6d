import { intFromEnv } from '../../subgraphs/common/config';
/**
 * A closed-loop load driver: `concurrency` workers each run `operation` back to back for
 * `durationMs`, after a warm-up. Latencies are per operation (one operation may be several HTTP
 * calls), so two ways of fetching the same data compare one to one.
 */
export interface LoadResult {
  operations: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function load(operation: () => Promise<void>, opts: { concurrency: number; durationMs: number; warmupMs: number }): Promise<LoadResult> {
  const run = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + ms;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (performance.now() < end) {
          const start = performance.now();
          try {
            await operation();
            if (record) latencies.push(performance.now() - start);
          } catch {
            errors++;
          }
        }
      }),
    );
    return { latencies, errors };
  };
  await run(opts.warmupMs, false);
  const started = performance.now();
  const { latencies, errors } = await run(opts.durationMs, true);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    errors,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** BENCH_SECONDS (per run, default 5), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY (default 20). */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): { seconds: number; rounds: number; concurrency: number } {
  return { seconds: intFromEnv(env, 'BENCH_SECONDS', 5), rounds: intFromEnv(env, 'BENCH_ROUNDS', 3), concurrency: intFromEnv(env, 'BENCH_CONCURRENCY', 20) };
}

/** One row of a load table: p50, p99 (ms), operations per second, errors. */
export function loadRow(name: string, r: LoadResult, width: number): string {
  return `${name.padEnd(width)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.perSecond.toFixed(0).padStart(8)} ${String(r.errors).padStart(6)}`;
}

/** The median round of several: medians of each figure, errors summed. */
export function medianOfRounds(list: LoadResult[]): LoadResult {
  return {
    operations: median(list.map((r) => r.operations)),
    perSecond: median(list.map((r) => r.perSecond)),
    p50: median(list.map((r) => r.p50)),
    p90: median(list.map((r) => r.p90)),
    p99: median(list.map((r) => r.p99)),
    errors: list.reduce((n, r) => n + r.errors, 0),
  };
}
