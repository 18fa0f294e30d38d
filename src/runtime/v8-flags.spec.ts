import { missingV8Flags, V8_FLAGS } from './v8-flags';

describe('missingV8Flags', () => {
  it('names every flag for a plain `node dist/main.js`', () => {
    expect(missingV8Flags([])).toEqual(V8_FLAGS);
    expect(missingV8Flags(['-r', 'ts-node/register'], '--enable-source-maps')).toEqual(V8_FLAGS);
  });

  it('names none once the command line has them, as after a relaunch', () => {
    expect(missingV8Flags([...V8_FLAGS, '-r', 'ts-node/register'])).toEqual([]);
  });

  it('leaves a flag that whoever started the process set, to any value, in any spelling', () => {
    expect(missingV8Flags(['--max-semi-space-size=64'])).toEqual(['--no-allocation-site-pretenuring']);
    expect(missingV8Flags(['--max_semi_space_size=8', '--allocation-site-pretenuring'])).toEqual([]);
    // NODE_OPTIONS may carry the semi-space flag (Node refuses the pretenuring one there).
    expect(missingV8Flags(['--no-allocation-site-pretenuring'], ' --max-semi-space-size=16 ')).toEqual([]);
  });
});

describe('npm run start:dev', () => {
  const { scripts } = require('../../package.json') as { scripts: Record<string, string> };
  // node --watch talks to its child over IPC, which the service keeps by not starting again.
  it('gives the flags on its command line', () => {
    expect(scripts['start:dev']).toContain(`node --watch ${V8_FLAGS.join(' ')} `);
  });
});
