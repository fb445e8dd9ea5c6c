/**
 * The one sanitizer. Every attacker-controlled string in a finding passes through
 * `cleanText` once at intake; sinks then apply their own escaping (`forSlack`, `forHtml` in `html.ts`,
 * `forSubject`). After `cleanText` a value holds only printable characters: nothing can
 * move the cursor, reorder text, hide itself, start a new line in an alert, stack marks
 * over its neighbours or stretch into a long blank. Renderers then show each value
 * delimited (`delimited`, `slackCode`), with right-to-left text isolated, so a value
 * cannot pass for the alert's own text either.
 */

/** A string that went through `cleanText`. The brand keeps raw text out of renderers. */
export type CleanText = string & { readonly __clean: unique symbol };

/** Per-field limits in characters (code points). Cut values say that they were cut. */
export const FIELD_LIMITS = {
  name: 256,
  path: 1024,
  commandLine: 4096,
  title: 512,
  description: 2048,
  tag: 512,
  short: 128,
} as const;
export type FieldKind = keyof typeof FIELD_LIMITS;

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * Characters made visible as escapes rather than passed through:
 * - \p{Cc}: C0 and C1 controls, including ESC (so no ANSI sequence survives) and CSI U+009B;
 * - \p{Cf}: format characters: bidi embeddings/overrides/isolates, zero-width space/joiners,
 *   LRM/RLM/ALM, BOM, soft hyphen, word joiner, invisible operators, Unicode tag characters;
 * - \p{Zl}\p{Zp}: U+2028/U+2029, which some renderers treat as line breaks;
 * - \p{Zs} other than the ASCII space: look-alike blanks that hide in paths;
 * - \p{Cs}: lone surrogates; \p{Cn}: unassigned code points (render unpredictably);
 * - fillers and variation selectors that render as nothing (U+034F, U+115F, U+1160, U+17B4,
 *   U+17B5, U+180B–U+180F, U+3164, U+FE00–U+FE0F, U+FFA0, U+E0100–U+E01EF);
 * - « and » (U+00AB, U+00BB): they delimit values in plain-text alerts (`delimited`), so a
 *   value must not be able to close its own delimiters or open a new one.
 */
// Each listed mark is matched on its own, on purpose: the lint rule guards against the
// opposite mistake (a class meant to match a combined sequence).
const UNSAFE =
  // eslint-disable-next-line no-misleading-character-class
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}\u00AB\u00BB\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]|(?! )\p{Zs}/u;

/**
 * At most this many combining marks are shown on one base character. Real text needs two
 * (Vietnamese, Thai, Arabic vowel and shadda) or three (Devanagari, pointed Hebrew); more
 * are stacked to draw over the neighbouring lines ("Zalgo"). The rest are escaped.
 */
export const MAX_MARKS_PER_BASE = 3;

/**
 * At most this many blank-looking characters in a row are shown as blanks. A longer run
 * is how a value pushes its next words onto what looks like a line of its own once a
 * narrow mail client wraps it; the rest of the run is escaped and counted (`\x20×296`).
 */
export const MAX_BLANK_RUN = 4;

/**
 * What renders as blank: every space separator (the ASCII space included), the braille
 * blank U+2800 and the Hangul fillers. Only the ASCII space and U+2800 are shown as
 * themselves (the others are in UNSAFE), so only they can form a blank run on screen; all
 * of them count towards a run, so a long run is counted whatever it is made of.
 */
const BLANK = /[\p{Zs}\u2800\u115F\u1160\u3164\uFFA0]/u;
const SHOWN_AS_BLANK = new Set([' ', '\u2800']);

// The lint rule reads UNSAFE's class in the two below; its marks are matched one by one,
// as there.
/** Every unsafe character, for escaping them all. */
// eslint-disable-next-line no-misleading-character-class
const UNSAFE_CHARACTERS = new RegExp(UNSAFE.source, 'gu');
/** Runs of combining marks that are not in UNSAFE (those are escaped one by one). */
// eslint-disable-next-line no-misleading-character-class
const MARK_RUNS = new RegExp(`(?:(?!${UNSAFE.source})\\p{M})+`, 'gu');
const ANY_MARK = /\p{M}/u;
const LONG_BLANK_RUNS = new RegExp(`${BLANK.source}{${MAX_BLANK_RUN + 1},}`, 'gu');

function visibleEscape(char: string): string {
  const named = NAMED_ESCAPES[char];
  if (named !== undefined) return named;
  const codePoint = char.codePointAt(0) ?? 0;
  if (codePoint <= 0xff) return `\\x${codePoint.toString(16).toUpperCase().padStart(2, '0')}`;
  if (codePoint <= 0xffff) return `\\u${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\u{${codePoint.toString(16).toUpperCase()}}`;
}

/** The first MAX_BLANK_RUN blanks as usual, then each stretch of one character counted. */
function boundedBlankRun(run: string): string {
  const blanks = Array.from(run);
  const head = blanks
    .slice(0, MAX_BLANK_RUN)
    .map((blank) => (SHOWN_AS_BLANK.has(blank) ? blank : visibleEscape(blank)));
  const counted: string[] = [];
  let index = MAX_BLANK_RUN;
  while (index < blanks.length) {
    const blank = blanks[index]!;
    let end = index + 1;
    while (blanks[end] === blank) end += 1;
    const count = end - index;
    counted.push(count === 1 ? visibleEscape(blank) : `${visibleEscape(blank)}×${count}`);
    index = end;
  }
  return head.join('') + counted.join('');
}

/**
 * The code point before `offset` can carry marks: it is shown as itself (not escaped, so
 * the marks would not land on an escape's last letter) and is not a blank (marks on a
 * blank, or at the very start, would land on the alert's own text around the value).
 */
function carriesMarks(text: string, offset: number): boolean {
  if (offset === 0) return false;
  const start = offset >= 2 && unitsAt(text, offset - 2) === 2 ? offset - 2 : offset - 1;
  const base = text.slice(start, offset);
  return !UNSAFE.test(base) && !BLANK.test(base);
}

/** Marks on a base that can carry them, up to MAX_MARKS_PER_BASE; the rest escaped. */
function boundedMarks(marks: string, canCarry: boolean): string {
  const all = Array.from(marks);
  const kept = canCarry ? MAX_MARKS_PER_BASE : 0;
  return all.slice(0, kept).join('') + all.slice(kept).map(visibleEscape).join('');
}

/** UTF-16 units taken by the code point at `index`: 2 for a well-formed surrogate pair. */
function unitsAt(text: string, index: number): 1 | 2 {
  const high = text.charCodeAt(index);
  if (high < 0xd800 || high > 0xdbff || index + 1 >= text.length) return 1;
  const low = text.charCodeAt(index + 1);
  return low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
}

/** Cut `text` to at most `limit` code points, never splitting a surrogate pair. */
function cutToCodePoints(text: string, limit: number): { text: string; cut: number } {
  // Fast path: a UTF-16 length within the limit cannot exceed it in code points.
  if (text.length <= limit) return { text, cut: 0 };
  let index = 0;
  let kept = 0;
  while (index < text.length && kept < limit) {
    index += unitsAt(text, index);
    kept += 1;
  }
  let cut = 0;
  for (let rest = index; rest < text.length; rest += unitsAt(text, rest)) cut += 1;
  return cut === 0 ? { text, cut } : { text: text.slice(0, index), cut };
}

/**
 * Marks beyond the bound escaped. Runs on the raw value, before anything is escaped, so
 * `carriesMarks` sees the character each run really follows; the escapes it writes are
 * ASCII, which the later steps leave alone. Most values have no mark: one scan decides.
 */
function withBoundedMarks(text: string): string {
  if (!ANY_MARK.test(text)) return text;
  return text.replace(MARK_RUNS, (marks: string, offset: number) =>
    boundedMarks(marks, carriesMarks(text, offset)),
  );
}

/** Blank runs longer than MAX_BLANK_RUN: the first ones kept, the rest counted. */
function withBoundedBlanks(text: string): string {
  return text.replace(LONG_BLANK_RUNS, boundedBlankRun);
}

/**
 * Make attacker text safe to show: unsafe characters become visible escapes (`\x1B`,
 * `\u202E`, `\n`, `\xBB`), as do combining marks beyond MAX_MARKS_PER_BASE on one
 * character (and marks with no character of the value to sit on); a blank run beyond
 * MAX_BLANK_RUN is escaped and counted. The result is cut to the field's limit with a
 * marker saying how much was cut. The limit applies to the raw value first, so a hostile
 * field cannot make the escaping step do unbounded work.
 */
export function cleanText(value: string, kind: FieldKind = 'name'): CleanText {
  const limit = FIELD_LIMITS[kind];
  const { text, cut } = cutToCodePoints(value, limit);
  const escaped = withBoundedBlanks(withBoundedMarks(text)).replace(
    UNSAFE_CHARACTERS,
    visibleEscape,
  );
  const marked = cut > 0 ? `${escaped}…[cut ${cut} more characters]` : escaped;
  return marked as CleanText;
}

/**
 * `cleanText`, then cut so the escaped result fits `maxChars` (escaping can make a value
 * several times longer than the raw limit). For values with a hard size limit downstream,
 * such as an outcome's detail in the function contract.
 */
export function cleanWithin(value: string, maxChars: number): CleanText {
  const clean = cleanText(value, 'description');
  if (clean.length <= maxChars) return clean;
  const marker = '…[cut]';
  let end = maxChars - marker.length;
  // Never end on the first half of a surrogate pair.
  if (/[\uD800-\uDBFF]/.test(clean.charAt(end - 1))) end -= 1;
  return `${clean.slice(0, end)}${marker}` as CleanText;
}

/** `cleanText` for optional fields: anything that is not a non-empty string becomes undefined. */
export function cleanOptional(value: unknown, kind: FieldKind = 'name'): CleanText | undefined {
  return typeof value === 'string' && value.length > 0 ? cleanText(value, kind) : undefined;
}

/**
 * Slack sink: `&`, `<` and `>` are the only characters Slack's markup treats as control
 * (escaping them neutralises `<!channel>`, `<@U…>` and `<url|text>`). Backticks become
 * U+02CB, which looks alike: a backtick would open or end a code span, and code spans are
 * what delimit values in Slack (`slackCode`), so only the renderer writes them.
 */
export function forSlack(value: CleanText): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/`/g, 'ˋ');
}

/** Where a value starts and ends in a plain-text alert; `cleanText` escapes both inside values. */
export const VALUE_OPEN = '«';
export const VALUE_CLOSE = '»';
/** First-strong isolate and its end: what the isolate holds cannot reorder the text around it. */
export const ISOLATE_OPEN = '\u2068';
export const ISOLATE_CLOSE = '\u2069';

/**
 * Right-to-left scripts: Hebrew, Arabic, Syriac, Thaana, N'Ko and the rest of U+0590–U+08FF,
 * the Hebrew and Arabic presentation forms, and the right-to-left planes of the SMP. Whole
 * blocks rather than the exact bidi classes (which JavaScript cannot match): the blocks also
 * hold a few marks and digits, and isolating a value that did not need it costs nothing.
 */
const RIGHT_TO_LEFT =
  /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFE\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;

/**
 * Text that holds right-to-left letters, in an isolate; other text as it is. The text must
 * come from `cleanText` (after a sink's escaping at most): it has no bidi control of its
 * own, so nothing inside can end the isolate early.
 */
function isolate(text: string): string {
  return RIGHT_TO_LEFT.test(text) ? `${ISOLATE_OPEN}${text}${ISOLATE_CLOSE}` : text;
}

/**
 * A value in a line the responder wrote (a note, an outcome's detail): right-to-left text
 * in it is isolated, so it cannot reorder the rest of the line.
 */
export function isolated(value: CleanText): string {
  return isolate(value);
}

/**
 * Plain-text sink for a value from a finding: between « and », which the value itself
 * cannot hold, and isolated inside them. However it is written, a value cannot pass for
 * the alert's own words or punctuation.
 */
export function delimited(value: CleanText): string {
  return `${VALUE_OPEN}${isolate(value)}${VALUE_CLOSE}`;
}

/** `isolated` for Slack, where the value is part of the responder's line. */
export function slackText(value: CleanText): string {
  return isolate(forSlack(value));
}

/**
 * Slack sink for a value from a finding: inline code, so `*`, `_` and `~` from the attacker
 * are not markup and the code span delimits the value. Cut to `max` code points so one
 * huge field cannot crowd the rest out of the message; the isolate goes in after the cut,
 * so it is never left open.
 */
export function slackCode(value: CleanText, max = 1000): string {
  const points = Array.from(value);
  const shown = points.length > max ? `${points.slice(0, max).join('')}…` : value;
  return `\`${isolate(forSlack(shown as CleanText))}\``;
}

/**
 * The last line of a text cut short, with what the cut left open closed again: the
 * isolates, then the value's delimiter. Values hold no delimiter or bidi control of their
 * own, so every « and isolate in a line is the renderer's.
 */
export function closeCutLine(line: string): string {
  const isolates = line.split(ISOLATE_OPEN).length - line.split(ISOLATE_CLOSE).length;
  const inValue = line.lastIndexOf(VALUE_OPEN) > line.lastIndexOf(VALUE_CLOSE);
  return `${line}${ISOLATE_CLOSE.repeat(Math.max(isolates, 0))}${inValue ? VALUE_CLOSE : ''}`;
}

/**
 * SNS subject sink: ASCII only, one line, at most `max` characters (SNS refuses anything
 * else). Non-ASCII and control characters become `?`, so a subject holds no combining
 * mark or right-to-left letter, and any run of whitespace becomes one space.
 */
export function forSubject(value: string, max = 100): string {
  const ascii = value
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7E]/g, '?')
    .trim();
  return ascii.length <= max ? ascii : `${ascii.slice(0, max - 3)}...`;
}
