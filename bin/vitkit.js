#!/usr/bin/env node
// The CLI, compiled to dist/ by `npm run build` (which `npm ci` and `npm pack` run). From sources, without a
// build: `node --import tsx src/cli/main.ts` (what `npm start` and the tests run).
await import('../dist/cli/main.js');
