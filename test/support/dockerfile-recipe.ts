import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the final stage would put in an image: its files live under `root`. */
export interface Image {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  expose: string[];
  healthcheck?: string[];
  stopSignal?: string;
  cmd?: string[];
}

/**
 * Carries out a Dockerfile's recipe without Docker (none runs here): each stage's
 * filesystem is a folder under `outDir`, COPY reads the build context as .dockerignore
 * filters it, RUN runs with sh in the stage's WORKDIR. Base images are not fetched: the
 * machine's own Node stands in for the image's. Enough of the format for our Dockerfile;
 * an instruction it does not know fails the build rather than being skipped.
 */
export async function buildRecipe(contextDir: string, outDir: string): Promise<Image> {
  const ignored = dockerignore(contextDir);
  const stages = new Map<string, Image>();
  let stage: Image | undefined;
  for (const { keyword, args } of instructions(readFileSync(join(contextDir, 'Dockerfile'), 'utf8'))) {
    if (keyword === 'FROM') {
      const [, , name] = args.split(/\s+/);
      stage = { root: join(outDir, `stage-${stages.size}`), workdir: '/', env: {}, expose: [] };
      if (name) stages.set(name, stage);
      stages.set(String(stages.size), stage);
      continue;
    }
    if (!stage) throw new Error(`${keyword} before FROM`);
    const here = (path: string) =>
      join(stage!.root, path.startsWith('/') ? path : join(stage!.workdir, path));
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = args;
        mkdirSync(here('.'), { recursive: true });
        break;
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const [key, ...value] = pair.split('=');
          stage.env[key] = value.join('=');
        }
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const [dest, ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
        for (const source of sources.reverse()) {
          const target =
            dest.endsWith('/') || sources.length > 1
              ? join(here(dest), source.split('/').pop()!)
              : here(dest);
          mkdirSync(dirname(target), { recursive: true });
          if (from) {
            const origin = stages.get(from);
            if (!origin) throw new Error(`COPY --from=${from}: no such stage`);
            cpSync(join(origin.root, source), target, { recursive: true });
          } else {
            if (ignored(source)) throw new Error(`COPY ${source}: excluded by .dockerignore`);
            cpSync(join(contextDir, source), target, {
              recursive: true,
              filter: (path) => !ignored(relative(contextDir, path)),
            });
          }
        }
        break;
      }
      case 'RUN':
        await run('sh', ['-c', args], {
          cwd: here('.'),
          env: { ...process.env, ...stage.env },
          maxBuffer: 64 * 2 ** 20,
        });
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'EXPOSE':
        stage.expose.push(...args.split(/\s+/));
        break;
      case 'HEALTHCHECK':
        stage.healthcheck = execForm(args.replace(/^(--\S+\s+)*CMD\s+/, ''));
        break;
      case 'STOPSIGNAL':
        stage.stopSignal = args;
        break;
      case 'CMD':
        stage.cmd = execForm(args);
        break;
      default:
        throw new Error(`the recipe runner does not know ${keyword}`);
    }
  }
  if (!stage) throw new Error('empty Dockerfile');
  return stage;
}

/** The folder an image's WORKDIR maps to. */
export const workdirOf = (image: Image) => join(image.root, image.workdir);

function instructions(text: string): { keyword: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword] = line.split(/\s/, 1);
      return { keyword: keyword.toUpperCase(), args: line.slice(keyword.length).trim() };
    });
}

function execForm(args: string): string[] {
  return args.startsWith('[') ? JSON.parse(args) : ['sh', '-c', args];
}

/** Docker's matching, simplified: patterns are relative to the context, `*` stays within a segment. */
function dockerignore(contextDir: string): (path: string) => boolean {
  const file = join(contextDir, '.dockerignore');
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`))
    : [];
  return (path) => patterns.some((p) => p.test(path.replace(/^\.\//, '')));
}
