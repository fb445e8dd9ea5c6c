/** ISO-8601 from an epoch (seconds or milliseconds) or a parseable date string. */
export function toIsoTime(value: number | string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  // Epoch seconds stay below 1e11 until the year 5138; larger numbers are milliseconds.
  const millis =
    typeof value === 'number' ? (value < 1e11 ? value * 1000 : value) : Date.parse(value);
  if (!Number.isFinite(millis) || Math.abs(millis) > 8.64e15) return undefined;
  return new Date(millis).toISOString();
}
