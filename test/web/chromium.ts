// The chromium that every browser test launches (through playwright-core, which downloads no browser): the first of
// chromium, chromium-browser, google-chrome on PATH. Where none is, the browser tests skip with the fix, except in CI
// (CI set), where a missing browser fails them: a CI run must not pass by testing nothing.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const MISSING = `no chromium on PATH (looked for ${NAMES.join(', ')}): install Debian's chromium (apt-get install -y chromium; .ci/run does this)`;

/** The first browser of NAMES (in that order of preference) found as an executable file on `path`, as `which` would. */
export function findChromium(path = process.env.PATH ?? ''): string | undefined {
  const dirs = path.split(delimiter).filter(Boolean);
  for (const name of NAMES) {
    for (const dir of dirs) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        if (statSync(file).isFile()) return file;
      } catch {
        // not here: the next directory
      }
    }
  }
  return undefined;
}

/** A browser test's `skip` option: skip (saying why) only where no browser is found and this is not CI. */
export function chromiumSkip(found: string | undefined, ci: boolean): false | string {
  return found || ci ? false : MISSING;
}

export const CHROMIUM = findChromium();

/** The test option of every browser test. */
export const needsChromium = { skip: chromiumSkip(CHROMIUM, !!process.env.CI) } as const;

export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error(MISSING);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // as root in a container there is no sandbox to have; the rest keeps chromium off a network it cannot reach
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
