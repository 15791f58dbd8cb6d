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
  return { operations: latencies.length, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), errors };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
