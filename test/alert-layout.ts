/**
 * What a rendered alert must look like whatever the finding held, checked line by line
 * without the renderer's own helpers (only its published labels and bounds):
 * - a line is blank or starts with one of ALERT_LABELS (after indentation, a Slack bullet
 *   or emphasis); a finding value never starts a line, and since values hold no line
 *   break, no line is the continuation of one;
 * - delimiters pair up: « with » in the email text, backticks in the Slack description;
 * - isolates (FSI … PDI) pair up, each inside one value or one stretch of the responder's
 *   text, and every right-to-left letter is inside one;
 * - at most MAX_MARKS_PER_BASE combining marks in a row, each run on a character that is
 *   not a blank, a delimiter or an isolate; inside a value at most MAX_BLANK_RUN blanks
 *   in a row, and anywhere fewer than LABEL_COLUMN.
 */
import { ALERT_LABELS, LABEL_COLUMN, type Alert } from '../shared/alert.js';
import {
  ISOLATE_CLOSE,
  ISOLATE_OPEN,
  MAX_BLANK_RUN,
  MAX_MARKS_PER_BASE,
  VALUE_CLOSE,
  VALUE_OPEN,
} from '../shared/sanitize.js';
import { RIGHT_TO_LEFT } from './hostile.js';

/** Part of a line: the responder's text, or a value between delimiters (without them). */
interface Segment {
  text: string;
  value: boolean;
}

const BLANK = '[\\p{Zs}\\u2800\\u115F\\u1160\\u3164\\uFFA0]';
const VALUE_BLANK_RUN = new RegExp(`${BLANK}{${MAX_BLANK_RUN + 1},}`, 'u');
/**
 * Outside values: the responder pads labels to its column, and a sentence from a
 * containment function (at most MAX_BLANK_RUN blanks in a row) may follow a padded label.
 */
const LINE_BLANK_RUN = new RegExp(`${BLANK}{${LABEL_COLUMN},}`, 'u');
const ISOLATED = new RegExp(
  `${ISOLATE_OPEN}[^${ISOLATE_OPEN}${ISOLATE_CLOSE}]*${ISOLATE_CLOSE}`,
  'g',
);

/** Split at the delimiters; a string when they do not pair up. */
function segmentsOf(line: string, open: string, close: string): Segment[] | string {
  const segments: Segment[] = [];
  let value = false;
  let start = 0;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index];
    if (char !== open && char !== close) continue;
    if (open === close || (char === open) !== value) {
      segments.push({ text: line.slice(start, index), value });
      value = !value;
      start = index + 1;
    } else {
      return `${char === open ? 'nested' : 'stray'} ${char}`;
    }
  }
  if (value) return `unclosed ${open}`;
  segments.push({ text: line.slice(start), value: false });
  return segments;
}

/**
 * Problems with bidi, marks and blanks in one stretch of text; `delimiters` are the
 * sink's, on which no mark may sit.
 */
function stretchProblems(text: string, value: boolean, delimiters: string): string[] {
  const noBase = new RegExp(`${BLANK}|[${delimiters}\u2068\u2069]`, 'u');
  const problems: string[] = [];
  // Whatever is left once the well-formed isolates are taken out is unpaired or nested.
  if (/[\u2068\u2069]/.test(text.replace(ISOLATED, ''))) problems.push('isolates do not pair up');
  if (RIGHT_TO_LEFT.test(text.replace(ISOLATED, '')))
    problems.push('right-to-left letters outside an isolate');
  for (const run of text.matchAll(/\p{M}+/gu)) {
    const marks = Array.from(run[0]).length;
    const base = text.slice(0, run.index).slice(-1);
    if (marks > MAX_MARKS_PER_BASE) problems.push(`${marks} combining marks in a row`);
    if (base === '' || noBase.test(base))
      problems.push('combining marks on no character of the value');
  }
  if ((value ? VALUE_BLANK_RUN : LINE_BLANK_RUN).test(text))
    problems.push(`a blank run in ${value ? 'a value' : "the responder's text"}`);
  return problems;
}

/** The responder's text a line starts with, without indentation, bullet or emphasis. */
function leadingText(first: Segment, slack: boolean): string {
  const text = first.value ? '' : first.text.replace(/^ +/, '');
  return slack ? text.replace(/^• /, '').replace(/^[*_]/, '') : text;
}

function lineProblems(line: string, slack: boolean, sentinel?: string): string[] {
  if (line === '') return [];
  const [open, close] = slack ? ['`', '`'] : [VALUE_OPEN, VALUE_CLOSE];
  const segments = segmentsOf(line, open, close);
  if (typeof segments === 'string') return [segments];
  const problems = segments.flatMap((segment) =>
    stretchProblems(segment.text, segment.value, open + close),
  );
  const lead = leadingText(segments[0]!, slack);
  if (!ALERT_LABELS.some((label) => lead.startsWith(label)))
    problems.push('the line does not start with a label');
  if (sentinel !== undefined && segments.some((s) => !s.value && s.text.includes(sentinel)))
    problems.push('a finding value outside its delimiters');
  return problems;
}

/**
 * Everything wrong with an alert's layout, as `problem: line`; empty when none. With a
 * `sentinel` that every finding value carries, a value outside its delimiters is found too.
 */
export function layoutProblems(alert: Alert, sentinel?: string): string[] {
  const { content, metadata } = alert.slack;
  const lines = [
    ...alert.text.split('\n').map((line) => ({ line, slack: false })),
    ...content.description.split('\n').map((line) => ({ line, slack: true })),
  ];
  const found = lines.flatMap(({ line, slack }) =>
    lineProblems(line, slack, sentinel).map((problem) => `${problem}: ${line}`),
  );
  // One line each, no finding value in them: only the bounds apply.
  for (const line of [alert.subject, content.title, metadata.summary, ...content.nextSteps]) {
    if (line.includes('\n')) found.push(`a line break: ${line}`);
    found.push(...stretchProblems(line, false, '').map((problem) => `${problem}: ${line}`));
  }
  return found;
}
