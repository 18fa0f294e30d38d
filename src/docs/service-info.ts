import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// package.json sits two folders up both from src/docs and from dist/docs (the image ships it).
const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description: string;
};

/** Title and version of the API documents: the service's own. */
export const SERVICE = { title: pkg.name, version: pkg.version, description: pkg.description };
