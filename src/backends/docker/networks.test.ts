import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { BottleError } from '../../errors.js';
import { configuredPool, freeSubnets } from './networks.js';

const cidr = (s: string) => {
  const [a, bits] = ipaddr.parseCIDR(s);
  return [a as ipaddr.IPv4, bits] as [ipaddr.IPv4, number];
};

describe('bottle network subnets', () => {
  it('offers every /28 of the pool that no engine network overlaps', () => {
    const free = freeSubnets(cidr('10.9.0.0/26'), ['10.9.0.16/28', '172.17.0.0/16', 'fd00::/64']);
    assert.deepEqual([...free].sort(), ['10.9.0.0/28', '10.9.0.32/28', '10.9.0.48/28']);
  });

  it('treats a wider network over the pool as taking all of it', () => {
    assert.deepEqual(freeSubnets(cidr('10.9.0.0/24'), ['10.0.0.0/8']), []);
  });

  it('shuffles, so bottles starting together rarely collide', () => {
    const orders = new Set(Array.from({ length: 10 }, () => freeSubnets(cidr('10.9.0.0/24'), [])[0]));
    assert.ok(orders.size > 1);
  });

  it('rejects a pool that is not an IPv4 range of /28 or wider, naming the variable', () => {
    assert.equal(configuredPool({}), undefined);
    assert.equal(configuredPool({ BOT_BOTTLE_NETWORK_POOL: '10.1.2.3/16' })?.[0].toString(), '10.1.0.0');
    for (const bad of ['nope', '10.0.0.0/30', 'fd00::/48']) {
      assert.throws(() => configuredPool({ BOT_BOTTLE_NETWORK_POOL: bad }), (e: unknown) => e instanceof BottleError && /BOT_BOTTLE_NETWORK_POOL/.test(e.message));
    }
  });
});
