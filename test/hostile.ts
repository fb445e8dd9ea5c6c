/** What hostile text looks like, shared by the sanitizer, alert and fuzz tests. */
import fc from 'fast-check';

/** Characters that must never survive cleaning: controls, bidi, zero-width, separators. */
export const FORBIDDEN =
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]|[\u{E0000}-\u{E007F}]/u;

/** Strings biased towards the characters attackers use. */
export const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .array(
      fc.constantFrom(
        '\u001b[31m',
        '\u202E',
        '\u2066',
        '\u200B',
        '\uFEFF',
        '\n',
        '\r',
        '\u2028',
        '\u0085',
        '\u009B',
        '<!channel>',
        '<@U1>',
        '<http://x|y>',
        '&',
        '<',
        '>',
        '`',
        '*',
        '_',
        '~',
        '$(id)',
        '\u00A0',
        '\u{E0041}',
        'a',
        'é',
        '\uD800',
        '\uDC00',
        '🙂',
        // Forging the alert's layout without control characters:
        '\u0301\u0301\u0301\u0301\u0301\u0301',
        '\u0489',
        '\u20DD',
        '\u2800\u2800\u2800',
        '      ',
        '\u3164',
        '\u3000',
        'שלום',
        'مرحبا',
        '«',
        '»',
        'Release: kubectl ',
        ', euid 0) /usr/bin/sudo (pid 1',
      ),
      { maxLength: 60 },
    )
    .map((parts) => parts.join('')),
);
