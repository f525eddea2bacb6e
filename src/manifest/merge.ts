/**
 * One rule for both `extends` and several `--bottle`s: a later bottle adds to
 * or overrides an earlier one, key by key. Maps merge, lists concatenate, a
 * route for the same host:port replaces the earlier route for it.
 */
import { BottleError } from '../errors.js';
import type { Bottle, DefaultedField, EgressRoute } from './types.js';

/** Merges bottles in order; the result is named `a+b+c`. */
export function mergeBottles(bottles: readonly Bottle[]): Bottle {
  const [first, ...rest] = bottles;
  if (first === undefined) throw new BottleError('usage', 'no bottle to merge', { fix: 'pass --bottle NAME' });
  const merged = rest.reduce(overlay, first);
  return { ...merged, name: bottles.map((b) => b.name).join('+'), doc: joinDocs(bottles) };
}

/** `top` over `base`; keeps `base`'s name and `top`'s doc (callers rename). */
export function overlay(base: Bottle, top: Bottle): Bottle {
  const baseDefaulted = new Set(base.defaulted ?? []);
  const topDefaulted = new Set(top.defaulted ?? []);
  const pick = <T>(field: DefaultedField, b: T, t: T): T => (topDefaulted.has(field) ? b : t);
  const defaulted = [...topDefaulted].filter((f) => baseDefaulted.has(f));
  return {
    name: base.name,
    files: [...base.files, ...top.files.filter((f) => !base.files.includes(f))],
    env: { ...base.env, ...top.env },
    agent_provider: {
      template: pick('agent_provider.template', base.agent_provider.template, top.agent_provider.template),
      dockerfile: top.agent_provider.dockerfile ?? base.agent_provider.dockerfile,
      auth_token: top.agent_provider.auth_token ?? base.agent_provider.auth_token,
      forward_host_credentials: pick(
        'agent_provider.forward_host_credentials',
        base.agent_provider.forward_host_credentials,
        top.agent_provider.forward_host_credentials,
      ),
    },
    git_gate: {
      user: top.git_gate.user ?? base.git_gate.user,
      repos: { ...base.git_gate.repos, ...top.git_gate.repos },
      ...((top.git_gate.rewrites ?? base.git_gate.rewrites) ? { rewrites: top.git_gate.rewrites ?? base.git_gate.rewrites } : {}),
    },
    egress: {
      routes: mergeRoutes(base.egress.routes, top.egress.routes),
      hosts: { ...base.egress.hosts, ...top.egress.hosts },
      ca_certs: [...new Set([...base.egress.ca_certs, ...top.egress.ca_certs])],
    },
    supervise: pick('supervise', base.supervise, top.supervise),
    runtime: {
      cpus: top.runtime.cpus ?? base.runtime.cpus,
      memory: top.runtime.memory ?? base.runtime.memory,
      pids: top.runtime.pids ?? base.runtime.pids,
    },
    ...(top.backend ?? base.backend ? { backend: top.backend ?? base.backend } : {}),
    doc: top.doc,
    defaulted,
  };
}

const routeKey = (r: EgressRoute): string => `${r.host}:${r.port}`;

function mergeRoutes(base: readonly EgressRoute[], top: readonly EgressRoute[]): EgressRoute[] {
  const replacements = new Map(top.map((r) => [routeKey(r), r]));
  // Replace in place so the base's order stays stable in listings.
  const kept = base.map((r) => replacements.get(routeKey(r)) ?? r);
  const keys = new Set(base.map(routeKey));
  return [...kept, ...top.filter((r) => !keys.has(routeKey(r)))];
}

function joinDocs(bottles: readonly Bottle[]): string {
  const docs = bottles.map((b) => b.doc.trim()).filter((d) => d !== '');
  return docs.length === 0 ? '' : `${docs.join('\n\n')}\n`;
}
