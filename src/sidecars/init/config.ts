/**
 * The bundle config: which sidecar processes the init runs. It is written by
 * the host and read inside the bundle on the bundle's Node, so it is validated
 * by hand (no zod in the bundle) and strictly: an unknown key is an error,
 * because a typo in a security setting must not silently become a default.
 */
import { readFileSync } from 'node:fs';
import { inBundle } from '../../bottle/layout.js';
import { jsonCheck, type JsonCheck } from '../json-check.js';

export const CONFIG_ENV = 'BOT_BOTTLE_BUNDLE_CONFIG';
export const DEFAULT_CONFIG_PATH = inBundle('bundle', 'config');

export type RestartPolicy = 'always' | 'never';

export interface ReadyProbe {
  tcpPort: number;
}

export interface ServiceSpec {
  name: string;
  command: string[];
  env?: Record<string, string>;
  restart: RestartPolicy;
  readyProbe?: ReadyProbe;
}

export interface BundleConfig {
  identity: string;
  services: ServiceSpec[];
  healthFile: string;
}

export class BundleConfigError extends Error {
  override name = 'BundleConfigError';
}

const check: JsonCheck = jsonCheck(BundleConfigError);
// Annotated: TypeScript narrows after a `never` call only through a declared type.
const fail: JsonCheck['fail'] = check.fail;
const { isObj, str: nonEmptyString, onlyKeys } = check;

// Names become log prefixes and JSON keys; keep them boring.
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;






function parseService(v: unknown, i: number): ServiceSpec {
  const where = `services[${i}]`;
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['name', 'command', 'env', 'restart', 'readyProbe']);

  const name = nonEmptyString(v.name, `${where}.name`);
  if (!NAME_RE.test(name)) fail(`${where}.name`, `"${name}" must match ${String(NAME_RE)}`);

  const cmd = v.command;
  if (!Array.isArray(cmd) || cmd.length === 0) fail(`${where}.command`, 'must be a non-empty array');
  const command = cmd.map((a, j) => {
    if (typeof a !== 'string') fail(`${where}.command[${j}]`, 'must be a string');
    return a;
  });
  if (command[0] === '') fail(`${where}.command[0]`, 'must be a non-empty string');

  const restart = v.restart;
  if (restart !== 'always' && restart !== 'never') {
    fail(`${where}.restart`, 'must be "always" or "never"');
  }
  const spec: ServiceSpec = { name, command, restart };

  if (v.env !== undefined) {
    if (!isObj(v.env)) fail(`${where}.env`, 'must be an object of strings');
    const env: Record<string, string> = {};
    for (const [k, val] of Object.entries(v.env)) {
      if (k === '' || k.includes('=')) fail(`${where}.env`, `bad variable name "${k}"`);
      if (typeof val !== 'string') fail(`${where}.env.${k}`, 'must be a string');
      env[k] = val;
    }
    spec.env = env;
  }

  if (v.readyProbe !== undefined) {
    const p = v.readyProbe;
    if (!isObj(p)) fail(`${where}.readyProbe`, 'must be an object');
    onlyKeys(p, `${where}.readyProbe`, ['tcpPort']);
    const port = p.tcpPort;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`${where}.readyProbe.tcpPort`, 'must be an integer port 1-65535');
    }
    spec.readyProbe = { tcpPort: port };
  }

  return spec;
}

/** Validate already-parsed JSON. Throws BundleConfigError with a one-line message. */
export function parseBundleConfig(raw: unknown): BundleConfig {
  if (!isObj(raw)) fail('config', 'must be a JSON object');
  onlyKeys(raw, 'config', ['identity', 'services', 'healthFile']);
  const identity = nonEmptyString(raw.identity, 'identity');
  const healthFile = nonEmptyString(raw.healthFile, 'healthFile');
  // An empty bundle would report ready while providing nothing.
  if (!Array.isArray(raw.services) || raw.services.length === 0) {
    fail('services', 'must be a non-empty array');
  }
  const services = raw.services.map(parseService);
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.name)) fail('services', `duplicate name "${s.name}"`);
    seen.add(s.name);
  }
  return { identity, services, healthFile };
}

/** Read and validate the config file. Throws BundleConfigError on any problem. */
export function loadBundleConfig(path: string): BundleConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new BundleConfigError(`cannot read ${path}: ${code}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // JSON.parse messages are single-line; keep ours that way too.
    throw new BundleConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseBundleConfig(raw);
}
