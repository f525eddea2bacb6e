/**
 * Bottle networks and their addresses. Each bottle takes two networks; a
 * stock engine hands out 31 subnets from its default pools (15 /16s and 16
 * /20s), so the sixteenth bottle, or leftovers from a crash, would stop every
 * start with "could not find an available, non-overlapping IPv4 address
 * pool". A bottle needs a handful of addresses, not 65 536: when the engine's
 * pools are spent (or the user names a pool) we carve a /28 ourselves.
 */
import ipaddr from 'ipaddr.js';
import type { NetworkCreateOptions } from 'dockerode';
import { BottleError } from '../../errors.js';
import { describeEngineError, type Engine } from './engine.js';

/** Where our own /28s come from unless `BOT_BOTTLE_NETWORK_POOL` says otherwise: 4096 bottle networks. */
export const DEFAULT_NETWORK_POOL = '10.213.0.0/16';
const SUBNET_BITS = 28;
const ATTEMPTS = 8;

type Cidr = [ipaddr.IPv4, number];

/** The pool named by the user, or undefined to use the engine's pools first. */
export function configuredPool(env: NodeJS.ProcessEnv = process.env): Cidr | undefined {
  const raw = env.BOT_BOTTLE_NETWORK_POOL?.trim();
  return raw ? parsePool(raw, 'BOT_BOTTLE_NETWORK_POOL') : undefined;
}

function parsePool(raw: string, source: string): Cidr {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(raw);
  } catch {
    throw new BottleError('usage', `${source}: "${raw}" is not an IPv4 CIDR`, { fix: `set ${source} to a private range such as ${DEFAULT_NETWORK_POOL}` });
  }
  const [addr, bits] = parsed;
  if (addr.kind() !== 'ipv4' || bits > SUBNET_BITS) {
    throw new BottleError('usage', `${source}: "${raw}" must be an IPv4 range of /${SUBNET_BITS} or wider`, { fix: `set ${source} to a private range such as ${DEFAULT_NETWORK_POOL}` });
  }
  return [ipaddr.IPv4.networkAddressFromCIDR(raw), bits];
}

function toInt(a: ipaddr.IPv4): number {
  return a.octets.reduce((n, o) => n * 256 + o, 0);
}

function fromInt(n: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

function overlaps([a, abits]: Cidr, [b, bbits]: Cidr): boolean {
  const bits = Math.min(abits, bbits);
  return a.match(b, bits);
}

/**
 * The free /28s of a pool, given the subnets already in use, in random order
 * so that bottles starting at the same moment rarely pick the same one (the
 * engine refuses the loser, which then tries the next).
 */
export function freeSubnets(pool: Cidr, used: readonly string[], random: () => number = Math.random): string[] {
  const taken: Cidr[] = [];
  for (const u of used) {
    try {
      const [addr, bits] = ipaddr.parseCIDR(u);
      if (addr.kind() === 'ipv4') taken.push([addr as ipaddr.IPv4, bits]);
    } catch {
      // An engine subnet we cannot parse is not ours to judge.
    }
  }
  const base = toInt(pool[0]);
  const count = 2 ** (SUBNET_BITS - pool[1]);
  const step = 2 ** (32 - SUBNET_BITS);
  const free: string[] = [];
  for (let i = 0; i < count; i++) {
    const candidate: Cidr = [fromInt(base + i * step), SUBNET_BITS];
    if (!taken.some((t) => overlaps(candidate, t))) free.push(`${candidate[0].toString()}/${SUBNET_BITS}`);
  }
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [free[i], free[j]] = [free[j], free[i]];
  }
  return free;
}

function poolsSpent(e: unknown): boolean {
  return /non-overlapping IPv4 address pool|no available network|could not find an available/i.test(describeEngineError(e));
}

function subnetTaken(e: unknown): boolean {
  return /overlaps|already (in use|allocated)/i.test(describeEngineError(e));
}

async function subnetsInUse(engine: Engine): Promise<string[]> {
  const networks = await engine.listNetworks();
  return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => typeof s === 'string'));
}

/**
 * Create one bottle network: from the engine's default pools unless the user
 * named a pool, and from our pool when the engine's are spent.
 */
export async function createBottleNetwork(engine: Engine, options: NetworkCreateOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const named = configuredPool(env);
  if (!named) {
    try {
      await engine.createNetwork(options);
      return;
    } catch (e) {
      if (!poolsSpent(e)) throw e;
    }
  }
  const pool = named ?? parsePool(DEFAULT_NETWORK_POOL, 'the default network pool');
  const poolText = `${pool[0].toString()}/${pool[1]}`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [subnet] = freeSubnets(pool, await subnetsInUse(engine));
    if (!subnet) break;
    try {
      await engine.createNetwork({ ...options, IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] } });
      return;
    } catch (e) {
      // Another bottle took the same /28 between our look and our create.
      if (!subnetTaken(e)) throw e;
    }
  }
  throw new BottleError('launch', `no free /${SUBNET_BITS} left in the network pool ${poolText} for ${options.Name ?? 'a bottle network'}`, {
    fix: 'bot-bottle cleanup --yes (leftover bottles hold networks), or set BOT_BOTTLE_NETWORK_POOL to a wider private range',
  });
}
