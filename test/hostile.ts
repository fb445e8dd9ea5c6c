/** What hostile text looks like, shared by the sanitizer, alert and fuzz tests. */
import fc from 'fast-check';

/** Characters that must never survive cleaning: controls, bidi, zero-width, separators. */
export const FORBIDDEN =
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]|[\u{E0000}-\u{E007F}]/u;

/**
 * Right-to-left letters, by script rather than by the renderer's block ranges, so the
 * tests do not share the renderer's definition.
 */
export const RIGHT_TO_LEFT = new RegExp(
  `[${[
    'Hebrew',
    'Arabic',
    'Syriac',
    'Thaana',
    'Nko',
    'Samaritan',
    'Mandaic',
    'Adlam',
    'Hanifi_Rohingya',
    'Mende_Kikakui',
    'Imperial_Aramaic',
    'Phoenician',
    'Kharoshthi',
    'Avestan',
    'Cypriot',
    'Yezidi',
    'Old_Turkic',
    'Old_Hungarian',
    'Old_South_Arabian',
    'Old_North_Arabian',
    'Lydian',
    'Meroitic_Cursive',
    'Meroitic_Hieroglyphs',
    'Nabataean',
    'Palmyrene',
    'Hatran',
    'Manichaean',
    'Inscriptional_Parthian',
    'Inscriptional_Pahlavi',
    'Psalter_Pahlavi',
    'Sogdian',
    'Old_Sogdian',
    'Elymaic',
    'Chorasmian',
  ]
    .map((script) => `\\p{Script=${script}}`)
    .join('')}]`,
  'u',
);

/**
 * Rendered text without the renderer's own isolates (FSI … PDI with no other bidi control
 * inside), so what is left can be checked for FORBIDDEN.
 */
export function withoutIsolates(text: string): string {
  return text.replace(/\u2068([^\u2066-\u2069\n]*)\u2069/g, '$1');
}

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
