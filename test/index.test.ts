// The public API covers the CLI: every name a src/cli/*.ts file imports from the library (src/, outside src/cli/)
// is exported from src/index.ts, the same declaration, except the short list of CLI-only helpers below. Checked
// with TypeScript's own resolution, so a re-export under another path or a type counts as it should.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = join(import.meta.dirname, '../src');
const CLI = join(SRC, 'cli');

/**
 * What the CLI may use without exporting it: printing and file plumbing a library user does in their own way.
 * Keep this list short.
 */
const CLI_ONLY = new Set([
  // attention overlays drawn for `vitkit attention`
  'OVERLAY_STYLES', 'OverlayStyle', 'displaySize', 'modelView', 'overlayPng', 'viewPng', 'parseAttentionMethod',
  // overwrite checks and atomic writes of output files
  'assertWritable', 'writeFileAtomic', 'writeDirAtomic',
  // the `vitkit serve` / `vitkit web` process plumbing
  'startInferenceWorker', 'DEFAULT_DEMO_DIR', 'createDemoServer', 'demoPage', 'demoSamples',
  // fine-tuning defaults as the help text shows them (finetuneDefaults is exported)
  'MAX_MICRO_BATCH', 'defaultAccumulation',
  // metrics.jsonl location for `vitkit plot`
  'metricsPath',
]);

function program(): { checker: ts.TypeChecker; files: ts.SourceFile[]; index: ts.SourceFile } {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(SRC, '../tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const cliFiles = readdirSync(CLI).filter((f) => f.endsWith('.ts')).map((f) => join(CLI, f));
  const p = ts.createProgram([join(SRC, 'index.ts'), ...cliFiles], { ...config.options, noEmit: true });
  return { checker: p.getTypeChecker(), files: cliFiles.map((f) => p.getSourceFile(f)!), index: p.getSourceFile(join(SRC, 'index.ts'))! };
}

const resolveAlias = (checker: ts.TypeChecker, s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

test('every library name the CLI imports is exported from src/index.ts, or listed as CLI-only', () => {
  const { checker, files, index } = program();
  const exported = new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(index)!).map((s) => resolveAlias(checker, s)));
  const missing: string[] = [];
  const used = new Set<string>();
  for (const file of files) {
    for (const stmt of file.statements) {
      if (!ts.isImportDeclaration(stmt) || !ts.isStringLiteral(stmt.moduleSpecifier)) continue;
      const target = resolve(dirname(file.fileName), stmt.moduleSpecifier.text);
      if (!target.startsWith(`${SRC}/`) || target.startsWith(`${CLI}/`)) continue; // packages, node:, the CLI's own files
      const named = stmt.importClause?.namedBindings;
      assert.ok(named && ts.isNamedImports(named), `${file.fileName}: import from ${stmt.moduleSpecifier.text} names what it uses`);
      for (const el of named.elements) {
        const name = (el.propertyName ?? el.name).text;
        used.add(name);
        if (CLI_ONLY.has(name)) continue;
        const symbol = resolveAlias(checker, checker.getSymbolAtLocation(el.name)!);
        if (!exported.has(symbol)) missing.push(`${name} (${file.fileName.slice(SRC.length + 1)})`);
      }
    }
  }
  assert.deepEqual(missing, [], 'CLI imports that src/index.ts does not export');
  assert.deepEqual([...CLI_ONLY].filter((n) => !used.has(n)), [], 'CLI-only names the CLI no longer imports');
});
