// Turns a results.json into the report beside it: report.md and one SVG per chart. `lab bench` calls
// it when it ends (or is interrupted); `lab report DIR` calls it to re-render from the stored slices alone.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from './analysis.ts';
import { buildFigures } from './figures.ts';
import { renderMarkdown } from './markdown.ts';
import { readResults, RESULTS_FILE, type ResultsFile } from './results.ts';

export const REPORT_FILE = 'report.md';

/** Writes report.md and the charts for these results into `dir`; returns the files written. */
export function writeReport(dir: string, results: ResultsFile): string[] {
  const analysis = analyze(results);
  const figures = buildFigures(results, analysis);
  for (const figure of figures) writeFileSync(join(dir, figure.file), figure.svg);
  writeFileSync(join(dir, REPORT_FILE), renderMarkdown(results, analysis, figures));
  return [REPORT_FILE, ...figures.map((f) => f.file)].map((f) => join(dir, f));
}

/** Re-renders a report directory from its results.json (an OutdatedResultsError for a schema-1 file). */
export function renderReportDir(dir: string): string[] {
  return writeReport(dir, readResults(join(dir, RESULTS_FILE)));
}
