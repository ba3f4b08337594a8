// `--json` output: one JSON object per line, its keys in snake_case like metrics.jsonl's (`train_loss`,
// `test_acc`), the spelling scripts in this field expect, while the TypeScript API keeps camelCase.

/** `testAcc` → `test_acc`; snake_case and single words are unchanged. */
export const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Prints `record` as one JSON line with its top-level keys in snake_case. Nested objects keep their keys: they are
 * data in their own format (a ViTConfig is written as vitkit's checkpoints and --config files spell it).
 */
export function printJson(record: Readonly<Record<string, unknown>>): void {
  console.log(JSON.stringify(Object.fromEntries(Object.entries(record).map(([k, v]) => [snakeCase(k), v]))));
}
