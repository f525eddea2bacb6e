// `egress serve` through the front door: the bottle's own routes, tokens
// injected, the same missing-token rule as a bottle (on loopback only).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BottleError } from '../errors.js';
import { readSettings } from '../settings.js';
import { request, startUpstream, tempDir, type Upstream } from '../sidecars/egress/testkit.test.js';
import { serveEgress } from './egress.js';

const TOKEN = 'tok-serve-0123456789abcdef';

describe('serveEgress', () => {
  const dir = tempDir();
  const home = join(dir, 'home');
  mkdirSync(join(home, 'bottles'), { recursive: true });
  let upstream: Upstream | undefined;
  after(async () => upstream?.close());

  const bottle = (port: number, caFile?: string) => `---
agent_provider:
  template: shell
egress:
  hosts:
    api.test: 127.0.0.1
  ca_certs: [${caFile ?? ''}]
  routes:
    - host: api.test:${port}
      auth: {token_ref: SERVE_TOKEN}
---
`;

  it('refuses to start when a route token is missing, naming the variable and the fix', async () => {
    writeFileSync(join(home, 'bottles', 'notoken.md'), bottle(443));
    const settings = readSettings({ BOT_BOTTLE_HOME: home, HOME: dir }, dir, false);
    await assert.rejects(serveEgress(settings, { bottle: 'notoken', listen: { host: '127.0.0.1', port: 0 }, caOut: join(dir, 'ca-none.pem') }), (e: unknown) => {
      assert.ok(e instanceof BottleError);
      assert.match(e.message, /SERVE_TOKEN is not set/);
      assert.match(e.fix ?? '', /export SERVE_TOKEN=/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'ca-none.pem')), false);
  });

  it("serves the bottle's routes with its token injected, and refuses the rest", async () => {
    upstream = await startUpstream(dir);
    writeFileSync(join(home, 'bottles', 'dev.md'), bottle(upstream.port, upstream.caFile));
    const settings = readSettings({ BOT_BOTTLE_HOME: home, HOME: dir, SERVE_TOKEN: TOKEN }, dir, false);
    const caOut = join(dir, 'serve-ca.pem');
    const audit = join(dir, 'serve-audit.jsonl');
    const server = await serveEgress(settings, { bottle: 'dev', listen: { host: '127.0.0.1', port: 0 }, caOut, audit });
    try {
      assert.equal(server.bottle, 'dev');
      assert.equal(server.routes, 1);
      const proxyCa = readFileSync(caOut, 'utf8');
      const ok = await request({ proxyPort: server.address.port, proxyCa, authority: `api.test:${upstream.port}`, path: '/v1' });
      assert.equal(ok.status, 200, ok.body);
      assert.equal(upstream.seen.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
      const denied = await request({ proxyPort: server.address.port, proxyCa, authority: 'other.test:443' });
      assert.equal(denied.status, 403);
      assert.ok(!readFileSync(audit, 'utf8').includes(TOKEN), 'no token in the audit log');
    } finally {
      await server.close();
    }
  });
});
