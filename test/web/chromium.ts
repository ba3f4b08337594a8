// The chromium that every browser test launches (through playwright-core, which downloads no browser): the first of
// chromium, chromium-browser, google-chrome on PATH, on WebAssembly or with WebGPU on SwiftShader (Vulkan on the CPU:
// slow, but what a machine without a GPU has; micro models only). Where the browser (or, for WebGPU, SwiftShader and
// the Vulkan loader) is missing, the tests skip with the fix, except in CI (CI set), where they fail: a CI run must not
// pass by testing nothing.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const MISSING = `no chromium on PATH (looked for ${NAMES.join(', ')}): install Debian's chromium (apt-get install -y chromium; .ci/run does this)`;
/** SwiftShader's Vulkan driver, which Debian's chromium ships, and the Vulkan loader it needs (libvulkan1). */
const SWIFTSHADER = ['/usr/lib/chromium/libvk_swiftshader.so', '/usr/lib/x86_64-linux-gnu/libvulkan.so.1'];

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

/** The same for a test on WebGPU: chromium, SwiftShader and the Vulkan loader. */
const missingVulkan = SWIFTSHADER.find((f) => !existsSync(f));
export const needsWebGPU = {
  skip: needsChromium.skip || (missingVulkan && !process.env.CI ? `${missingVulkan} is missing: install chromium and libvulkan1` : false),
} as const;

/**
 * Chromium with WebGPU on SwiftShader (`webgpu`), or without a GPU at all. As root in a container there is no
 * sandbox to have; the rest keeps chromium off a network it cannot reach.
 */
export function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  if (!CHROMIUM) throw new Error(MISSING);
  const gpu = opts.webgpu
    ? [
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-vulkan=swiftshader',
        '--use-webgpu-adapter=swiftshader',
        '--disable-vulkan-surface',
      ]
    : ['--disable-gpu'];
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      ...gpu,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
