import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snakeCase } from '../../src/cli/json-output.ts';

test('camelCase keys become snake_case; snake_case and single words stay', () => {
  assert.deepEqual(['testAcc', 'bestTestAcc', 'outDir', 'train_loss', 'top1', 'kind'].map(snakeCase), [
    'test_acc',
    'best_test_acc',
    'out_dir',
    'train_loss',
    'top1',
    'kind',
  ]);
});
