// The WebGPU tests' adapter. Without a GPU, SwiftShader (a CPU Vulkan driver from Debian's chromium, which .ci/run
// installs) stands in: it is used unless VK_ICD_FILENAMES already names a driver. Where no adapter is found the
// tests are skipped with the reason, except in CI (CI=true), where that is a failure: SwiftShader must be there.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { probeWebGpu } from '../src/runtime/devices.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// before the first probe: the probe's child process inherits it (and so do the CLI processes the tests start)
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

const probe = await probeWebGpu();
const inCI = process.env.CI === 'true';

/** Test options: skip where no adapter is found, outside CI. */
export const needsWebGpu = { skip: probe.available || inCI ? false : `no WebGPU adapter: ${probe.reason}` } as const;

/** Fails the test (in CI, where it is not skipped) when no adapter was found. */
export function assertWebGpu(): void {
  if (!probe.available) assert.fail(`no WebGPU adapter: ${probe.reason} (${probe.fix})`);
}
