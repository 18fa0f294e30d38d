import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvSchema } from '../src/config/env.schema';
import { recipeText } from './support/webhook-env';

const ROOT = join(__dirname, '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('README.md and .env.example', () => {
  const variables = Object.keys(new EnvSchema());

  it('list every setting the service reads', () => {
    const readme = read('README.md');
    const example = read('.env.example');
    expect(variables.filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
    expect(variables.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
  });

  it('show the webhook recipe as examples/verify-webhook.js has it, which the webhook specs run', () => {
    expect(read('README.md')).toContain(recipeText().trimEnd());
  });
});
