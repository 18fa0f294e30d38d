import { execSync } from 'node:child_process';
import { ROOT } from './servers';

/**
 * Builds the service (dist/) and names what was built: the commit, and whether the tree had
 * uncommitted changes. Read before building, since the tree may change while a run goes on.
 */
export function buildService(): string {
  const git = (command: string) => execSync(`git ${command}`, { cwd: ROOT }).toString().trim();
  const commit = git('rev-parse --short HEAD');
  const dirty = git('status --porcelain --untracked-files=no') ? ' (with uncommitted changes)' : '';
  execSync('npm run build', { cwd: ROOT, stdio: 'ignore' });
  return `commit ${commit}${dirty}`;
}
