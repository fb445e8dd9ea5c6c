/**
 * The HTML sink, kept apart from `sanitize.ts` so the Lambda bundles (which render no HTML)
 * do not carry the encoder. Used by `replay --html`.
 */
import he from 'he';
import type { ReplayRecord } from './replay.js';
import type { CleanText } from './sanitize.js';

/** Every markup character and everything outside printable ASCII encoded. */
export function forHtml(value: CleanText): string {
  return he.encode(value, { useNamedReferences: false, encodeEverything: false, strict: false });
}

const cell = (value: string) => `<td>${forHtml(value as CleanText)}</td>`;

function row(record: ReplayRecord): string {
  const alert = record.alert
    ? `<details><summary>${forHtml(record.alert.subject as CleanText)}</summary><pre>${forHtml(record.alert.text as CleanText)}</pre></details>`
    : 'no alert';
  return `<tr class="${record.decision}">${cell(record.file)}${cell(record.decision)}${cell(record.reason)}${cell(
    record.findingType ?? '',
  )}${cell(record.actions.join(', '))}<td>${alert}</td></tr>`;
}

/**
 * A self-contained report of replayed findings. Every value, including file names, goes
 * through `forHtml`; the page has no script and forbids any by its content policy.
 */
export function htmlReport(records: readonly ReplayRecord[], generatedAt: Date): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>GuardDuty runtime responder: replay</title>
<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}pre{white-space:pre-wrap;max-width:90ch}.contain td:nth-child(2){color:#a00;font-weight:bold}</style>
</head><body>
<h1>Replay (dry run): ${records.length} file(s), ${forHtml(generatedAt.toISOString() as CleanText)}</h1>
<table><tr><th>file</th><th>decision</th><th>reason</th><th>type</th><th>planned actions</th><th>alert</th></tr>
${records.map(row).join('\n')}
</table></body></html>
`;
}
