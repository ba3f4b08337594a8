// WebGPU for the tests, with or without a GPU: SwiftShader (Debian's chromium ships it; .ci/run installs it) is a
// Vulkan driver on the CPU that Dawn accepts. The Vulkan loader reads VK_ICD_FILENAMES when onnxruntime first asks
// for an adapter, so it is set here, before any test makes a session. A real GPU is used where the caller set
// VK_ICD_FILENAMES (or VK_DRIVER_FILES) itself.
import { existsSync } from 'node:fs';
import { resolveDevice } from '../../src/runtime/device.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

const found = await resolveDevice('auto', nodeEngine);

/**
 * The test option of a WebGPU test: skipped where no adapter is found, except in CI (CI=true), where the test runs
 * and fails on the missing adapter.
 */
export const needsWebGpu = {
  skip: found.device === 'webgpu' || process.env.CI === 'true' ? false : `${found.note} (install Debian's chromium for SwiftShader)`,
} as const;
