import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Where Debian puts what its packages install; /usr/sbin is not on every user's PATH.
const DIRS = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];

/** The path of `program`, or undefined when it is not installed. */
export function findProgram(program: string): string | undefined {
  return DIRS.map((dir) => join(dir, program)).find((path) => existsSync(path));
}

/**
 * `describe` for suites that run an outside program. Where it is missing: under CI=true
 * the run fails (.ci/run installs it); elsewhere the suite is skipped with one loud line
 * saying how to get it.
 */
export function describeWith(program: string, debianPackages: string, name: string, body: () => void): void {
  if (findProgram(program)) return describe(name, body);
  const fix = `sudo apt-get install -y ${debianPackages}`;
  if (process.env.CI === 'true') throw new Error(`${program} is not installed: ${fix}`);
  console.warn(`!!! SKIPPING "${name}": ${program} is not installed. Fix: ${fix}`);
  describe.skip(name, body);
}
