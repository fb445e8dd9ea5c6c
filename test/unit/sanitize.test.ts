import fc from 'fast-check';
import { FORBIDDEN, hostileString } from '../hostile.js';
import { forHtml } from '../../shared/html.js';
import { describe, expect, it } from 'vitest';
import {
  cleanText,
  closeCutLine,
  delimited,
  FIELD_LIMITS,
  isolated,
  MAX_BLANK_RUN,
  MAX_MARKS_PER_BASE,
  forSlack,
  forSubject,
  slackCode,
  type CleanText,
} from '../../shared/sanitize.js';

describe('cleanText', () => {
  it('makes controls, ANSI escapes, bidi and zero-width characters visible', () => {
    expect(cleanText('\u001b[31mred\u001b[0m')).toBe('\\x1B[31mred\\x1B[0m');
    expect(cleanText('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(cleanText('evil\u202Etxt.exe')).toBe('evil\\u202Etxt.exe');
    expect(cleanText('a\u200Bb\uFEFFc\u2066d\u2069')).toBe('a\\u200Bb\\uFEFFc\\u2066d\\u2069');
    expect(cleanText('line\u2028sep\u2029')).toBe('line\\u2028sep\\u2029');
    expect(cleanText('csi\u009B1m nul\u0000 del\u007F')).toBe('csi\\x9B1m nul\\x00 del\\x7F');
    expect(cleanText('nbsp\u00A0here')).toBe('nbsp\\xA0here');
    expect(cleanText('tag\u{E0041}')).toBe('tag\\u{E0041}');
    expect(cleanText('lone\uD800')).toBe('lone\\uD800');
  });

  it('keeps ordinary text, including non-Latin letters and emoji, unchanged', () => {
    for (const text of ['/usr/bin/python3', 'Grüße', '日本語のパス', 'emoji 🙂 ok', 'a b'])
      expect(cleanText(text)).toBe(text);
  });

  it('escapes « and », which delimit values in alerts', () => {
    expect(cleanText('a«b»c')).toBe('a\\xABb\\xBBc');
  });

  it(`keeps at most ${MAX_MARKS_PER_BASE} combining marks on one character and escapes the rest`, () => {
    expect(cleanText(`Z${'\u0301'.repeat(250)}`)).toBe(
      `Z${'\u0301'.repeat(3)}${'\\u0301'.repeat(247)}`,
    );
    // Real text: Vietnamese in decomposed form (two marks), Hindi, pointed Hebrew.
    for (const text of ['Việt Nam'.normalize('NFD'), 'हिन्दी', 'שָׁלוֹם'])
      expect(cleanText(text)).toBe(text);
  });

  it('escapes marks with no character of the value to sit on', () => {
    expect(cleanText('\u0336\u0336x')).toBe('\\u0336\\u0336x');
    expect(cleanText('a \u0301')).toBe('a \\u0301');
    // On an escaped character they would land on the escape's last letter.
    expect(cleanText('\u200B\u0301')).toBe('\\u200B\\u0301');
    // A variation selector breaks a run: what follows it is escaped too.
    expect(cleanText('e\uFE0F\u0301')).toBe('e\\uFE0F\\u0301');
  });

  it(`keeps at most ${MAX_BLANK_RUN} blanks in a row and counts the rest`, () => {
    expect(cleanText(`a${' '.repeat(300)}Release: kubectl`, 'commandLine')).toBe(
      'a    \\x20×296Release: kubectl',
    );
    expect(cleanText(`a${'\u2800'.repeat(300)}b`, 'commandLine')).toBe(
      'a\u2800\u2800\u2800\u2800\\u2800×296b',
    );
    // Look-alike blanks are escaped as before; in a long run they are counted too.
    expect(cleanText(`a${'\u3164'.repeat(10)}b`)).toBe(`a${'\\u3164'.repeat(4)}\\u3164×6b`);
    expect(cleanText('a  \u2800  \u3000\u3000b')).toBe('a  \u2800 \\x20\\u3000×2b');
    expect(cleanText('a    b')).toBe('a    b');
  });

  it('cuts long values and says how much was cut, never splitting a surrogate pair', () => {
    const cut = cleanText('x'.repeat(FIELD_LIMITS.name + 10), 'name');
    expect(cut).toBe(`${'x'.repeat(FIELD_LIMITS.name)}…[cut 10 more characters]`);
    const emoji = cleanText('🙂'.repeat(FIELD_LIMITS.short + 2), 'short');
    expect(emoji.startsWith('🙂'.repeat(FIELD_LIMITS.short))).toBe(true);
    expect(emoji).toContain('[cut 2 more characters]');
    expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('property: no forbidden character survives, and the result is bounded', () => {
    fc.assert(
      fc.property(
        hostileString,
        fc.constantFrom(...(Object.keys(FIELD_LIMITS) as (keyof typeof FIELD_LIMITS)[])),
        (value, kind) => {
          const clean = cleanText(value, kind);
          expect(clean).not.toMatch(FORBIDDEN);
          expect(clean).not.toMatch(/[«»]/);
          expect(clean).not.toMatch(new RegExp(`\\p{M}{${MAX_MARKS_PER_BASE + 1}}`, 'u'));
          expect(clean).not.toMatch(new RegExp(`[ \\u2800]{${MAX_BLANK_RUN + 1}}`, 'u'));
          // Worst case: every kept code point escaped as \u{XXXXX} plus the cut marker.
          expect(clean.length).toBeLessThanOrEqual(FIELD_LIMITS[kind] * 10 + 40);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: idempotent on its own output for values within the limit', () => {
    fc.assert(
      fc.property(hostileString, (value) => {
        const once = cleanText(value, 'commandLine');
        expect(cleanText(once, 'commandLine').length).toBeGreaterThanOrEqual(0);
        expect(cleanText(once, 'commandLine')).not.toMatch(FORBIDDEN);
      }),
    );
  });
});

describe('sink escapers', () => {
  it('Slack: escapes & < > so mentions and links are inert', () => {
    const clean = cleanText('<!channel> <@U012> <https://evil|click> a&b');
    expect(forSlack(clean)).toBe(
      '&lt;!channel&gt; &lt;@U012&gt; &lt;https://evil|click&gt; a&amp;b',
    );
  });

  it('Slack: a backtick outside a code span cannot open one', () => {
    expect(forSlack(cleanText('resource type `x'))).toBe('resource type ˋx');
  });

  it('Slack code span: no backtick can close it, and long values are cut', () => {
    const code = slackCode(cleanText('a`b`*bold*'));
    expect(code).toBe('`aˋbˋ*bold*`');
    expect(slackCode(cleanText('x'.repeat(5000), 'commandLine'), 100)).toHaveLength(103);
  });

  it('property: Slack output has no raw < > and every & starts an entity', () => {
    fc.assert(
      fc.property(hostileString, (value) => {
        const slack = slackCode(cleanText(value, 'commandLine'));
        expect(slack).not.toMatch(/[<>]/);
        expect(slack).not.toMatch(/&(?!amp;|lt;|gt;)/);
        expect(slack.slice(1, -1)).not.toContain('`');
      }),
      { numRuns: 2000 },
    );
  });

  it('plain text: a value is delimited by « », and cannot hold either', () => {
    expect(delimited(cleanText('root, euid 0) /usr/bin/sudo (pid 1'))).toBe(
      '«root, euid 0) /usr/bin/sudo (pid 1»',
    );
    expect(delimited(cleanText('a» Release: x «b'))).toBe('«a\\xBB Release: x \\xABb»');
  });

  it('right-to-left text is isolated (FSI … PDI) inside the delimiters, other text is not', () => {
    expect(delimited(cleanText('שלום admin'))).toBe('«\u2068שלום admin\u2069»');
    expect(delimited(cleanText('مرحبا'))).toBe('«\u2068مرحبا\u2069»');
    expect(isolated(cleanText('note about שלום'))).toBe('\u2068note about שלום\u2069');
    expect(isolated(cleanText('Grüße 日本語'))).toBe('Grüße 日本語');
    // Bidi controls the value carried are escaped first, so they cannot end the isolate.
    expect(delimited(cleanText('א\u2069\u202Eb'))).toBe('«\u2068א\\u2069\\u202Eb\u2069»');
  });

  it('Slack: right-to-left text is isolated inside the code span, after the cut', () => {
    expect(slackCode(cleanText('שלום'))).toBe('`\u2068שלום\u2069`');
    expect(slackCode(cleanText('ש'.repeat(50)), 10)).toBe(`\`\u2068${'ש'.repeat(10)}…\u2069\``);
  });

  it('a line cut short gets its isolate and delimiter closed', () => {
    expect(closeCutLine('  cwd: «\u2068שלו')).toBe('  cwd: «\u2068שלו\u2069»');
    expect(closeCutLine('  cwd: «/srv/a')).toBe('  cwd: «/srv/a»');
    expect(closeCutLine('  cwd: «/srv/a» more')).toBe('  cwd: «/srv/a» more');
    expect(closeCutLine('  note: \u2068שלום')).toBe('  note: \u2068שלום\u2069');
  });

  it('HTML: markup characters and non-ASCII are encoded', () => {
    expect(forHtml(cleanText('<script>alert("x")</script> é'))).toBe(
      '&#x3C;script&#x3E;alert(&#x22;x&#x22;)&#x3C;/script&#x3E; &#xE9;',
    );
  });

  it('property: HTML output has no raw markup characters', () => {
    fc.assert(
      fc.property(hostileString, (value) => {
        expect(forHtml(cleanText(value, 'path'))).not.toMatch(/[<>"'`]|&(?!#x[0-9A-F]+;)/);
      }),
    );
  });

  it('subject: ASCII, one line, at most 100 characters', () => {
    expect(forSubject('a\nb\u202Ec é')).toBe('a b?c ?');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (value) => {
        const subject = forSubject(value);
        expect(subject.length).toBeLessThanOrEqual(100);
        expect(subject).toMatch(/^[\x20-\x7E]*$/);
      }),
    );
  });

  it('escapers accept only CleanText at compile time', () => {
    // @ts-expect-error raw strings must go through cleanText first
    forSlack('raw');
    expect(forSlack('ok' as CleanText)).toBe('ok');
  });
});
