// The analysis report: one self-contained index.html (no scripts, no remote assets) that shows the model's config
// and each figure with a caption saying what it shows and how to read it.
import type { ViTConfig } from '../model/config.ts';

/** A picture in the report, by its path relative to index.html. */
export interface ReportFigure {
  readonly file: string;
  readonly title: string;
  readonly caption: string;
}

export interface ReportInput {
  readonly checkpoint: string;
  readonly format: string;
  readonly config: ViTConfig;
  /** Extra facts for the summary table (parameter count, images analysed…). */
  readonly facts: readonly (readonly [string, string])[];
  readonly figures: readonly ReportFigure[];
  /** Things left out and why (e.g. no images given). */
  readonly notes: readonly string[];
  /** Other files written beside the report (e.g. the numbers as JSON). */
  readonly files: readonly string[];
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const style = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { padding: 2px 12px 2px 0; text-align: left; }
th { font-weight: 600; color: #555; } figure { margin: 2.5em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; max-width: 60em; } code { background: #f4f4f4; padding: 0 3px; } .note { color: #8a5a00; }`;

/** The report's HTML. */
export function reportHtml(r: ReportInput): string {
  const rows = (pairs: readonly (readonly [string, string])[]): string =>
    pairs.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('\n');
  const config = Object.entries(r.config).map(([k, v]) => [k, String(v)] as const);
  const figures = r.figures
    .map(
      (f) =>
        `<figure>\n<h2>${escape(f.title)}</h2>\n<img src="${encodeURI(f.file)}" alt="${escape(f.title)}">\n` +
        `<figcaption>${escape(f.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vitkit analysis: ${escape(r.checkpoint)}</title>
<style>${style}</style>
</head>
<body>
<h1>Inside the Vision Transformer</h1>
<p>Analyses of <code>${escape(r.checkpoint)}</code> (${escape(r.format)}) after Dosovitskiy et al. (2021), Figures 6 and 7 and Appendix D.</p>
<table>
${rows(r.facts)}
</table>
${r.notes.map((n) => `<p class="note">${escape(n)}</p>`).join('\n')}
${figures}
<h2>Configuration</h2>
<table>
${rows(config)}
</table>
${r.files.length ? `<p>Also written: ${r.files.map((f) => `<a href="${encodeURI(f)}">${escape(f)}</a>`).join(', ')}.</p>` : ''}
</body>
</html>
`;
}
