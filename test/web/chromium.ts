// Debian's chromium driven by playwright-core, as every browser test launches it: on WebAssembly, or with WebGPU on
// SwiftShader (Vulkan on the CPU: slow, but what a machine without a GPU has; micro models only).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** SwiftShader's Vulkan driver, which Debian's chromium ships, and the Vulkan loader it needs (libvulkan1). */
const SWIFTSHADER = ['/usr/lib/chromium/libvk_swiftshader.so', '/usr/lib/x86_64-linux-gnu/libvulkan.so.1'];

/** Skips a test (outside CI: in CI a missing browser must fail the run, so the test runs and fails) when `missing`. */
const unlessCI = (missing: string | false): { skip: string | false } => ({ skip: process.env.CI === 'true' ? false : missing });

/** The test option that skips a browser test where chromium is not installed. */
export const needsChromium = unlessCI(
  existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does this)`,
);

/** The same for a test on WebGPU: chromium, SwiftShader and the Vulkan loader. */
const missingVulkan = SWIFTSHADER.find((f) => !existsSync(f));
export const needsWebGPU = unlessCI(needsChromium.skip || (missingVulkan ? `${missingVulkan} is missing: install chromium and libvulkan1` : false));

/**
 * Chromium with WebGPU on SwiftShader (`webgpu`), or without a GPU at all. As root in a container there is no
 * sandbox to have; the rest keeps chromium off a network it cannot reach.
 */
export function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  const gpu = opts.webgpu
    ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-vulkan-surface']
    : ['--disable-gpu'];
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', ...gpu, '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
