/**
 * `env` values: a literal, a forwarded host variable, or a question asked at
 * launch. Forwarded and typed values are secrets: they go in `secrets`, and
 * no message here ever contains a value.
 */
import { BottleError } from '../errors.js';
import { hasCredentialShape, varNameProblem } from './rules.js';
import type { Bottle, EnvSource, ResolvedEnv } from './types.js';

const FORWARD = /^\$\{([^}]*)\}$/;

/** The source an env value describes, or a problem sentence (never quoting the value). */
export function checkEnvSource(raw: string): EnvSource | string {
  if (raw.startsWith('?')) return { kind: 'prompt', text: raw.slice(1).trim() };
  const forward = FORWARD.exec(raw);
  if (forward) {
    const variable = forward[1] ?? '';
    const problem = varNameProblem(variable);
    return problem === undefined ? { kind: 'host', variable } : `the forwarded host variable ${problem}`;
  }
  if (raw.includes('${')) {
    // A literal `Bearer ${TOKEN}` would silently reach the agent unexpanded.
    return 'only a whole value `"${HOST_VAR}"` forwards a host variable; text around it is not expanded';
  }
  if (hasCredentialShape(raw)) {
    return 'looks like a credential written into the manifest; forward it from the host instead';
  }
  return { kind: 'literal', value: raw };
}

/** Parses one env value as written in a bottle. */
export function parseEnvSource(raw: string): EnvSource {
  const source = checkEnvSource(raw);
  if (typeof source === 'string') throw new BottleError('usage', `env value: ${source}`);
  return source;
}

export interface ResolveEnvOptions {
  readonly hostEnv: Readonly<Record<string, string>>;
  /** No terminal to ask on: prompts are an error instead. */
  readonly headless: boolean;
  /** Asks the user for a secret; `text` is the bottle's prompt or a default. */
  readonly ask: (name: string, text: string) => Promise<string>;
}

export async function resolveEnv(env: Bottle['env'], opts: ResolveEnvOptions): Promise<ResolvedEnv> {
  const literals: [string, string][] = [];
  const secrets: [string, string][] = [];
  for (const [name, source] of Object.entries(env)) {
    switch (source.kind) {
      case 'literal':
        literals.push([name, source.value]);
        break;
      case 'host': {
        const value = Object.hasOwn(opts.hostEnv, source.variable) ? opts.hostEnv[source.variable] : undefined;
        if (value === undefined) {
          throw new BottleError('usage', `env.${name} forwards host variable ${source.variable}, which is not set`, {
            fix: `export ${source.variable} before launching, or remove env.${name} from the bottle`,
          });
        }
        secrets.push([name, value]);
        break;
      }
      case 'prompt': {
        if (opts.headless) {
          throw new BottleError('prompt-needed', `env.${name} needs a value typed at launch; headless mode cannot ask`, {
            fix: `set it as "\${${name}}" forwarded from the host`,
          });
        }
        const typed = await opts.ask(name, source.text || `Value for ${name}`);
        // Ctrl-@ types one; no process environment can hold it.
        if (typed.includes('\0')) throw new BottleError('usage', `env.${name}: the value typed has a NUL byte (Ctrl-@)`, { fix: 'start again and type the value without it' });
        secrets.push([name, typed]);
        break;
      }
      default: {
        const never: never = source;
        throw new BottleError('usage', `env.${name}: unknown source ${String(never)}`);
      }
    }
  }
  // fromEntries defines own properties, so a hostile name cannot reach a prototype.
  return { literals: Object.fromEntries(literals), secrets: Object.fromEntries(secrets) };
}
