/** Small statistics over samples (milliseconds, microseconds: the unit is the caller's). */

export interface Summary {
  n: number;
  min: number;
  median: number;
  mean: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    median: percentileOfSorted(sorted, 50),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Least-squares slope of log(y) over log(x): the exponent k in y ≈ c·x^k. Linear work gives
 * k ≈ 1 (less when a fixed cost dominates the small sizes); quadratic work gives k ≈ 2.
 */
export function logLogSlope(points: readonly { x: number; y: number }[]): number {
  const logs = points.map(({ x, y }) => ({ x: Math.log(x), y: Math.log(y) }));
  const meanX = logs.reduce((s, p) => s + p.x, 0) / logs.length;
  const meanY = logs.reduce((s, p) => s + p.y, 0) / logs.length;
  const covariance = logs.reduce((s, p) => s + (p.x - meanX) * (p.y - meanY), 0);
  const variance = logs.reduce((s, p) => s + (p.x - meanX) ** 2, 0);
  return covariance / variance;
}

/** Round for reports: 3 significant decimals are plenty for benchmark figures. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Time one synchronous call in milliseconds. */
export function timeMs(work: () => unknown): number {
  const start = performance.now();
  work();
  return performance.now() - start;
}
