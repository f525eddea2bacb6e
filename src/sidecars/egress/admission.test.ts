import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { describe, it } from 'node:test';
import type { EgressRoute } from '../../manifest/types.js';
import { admit, methodOverrides } from './admission.js';
import { nullAudit } from './audit.js';
import type { ProxyContext } from './exchange.js';
import { NO_KNOWN } from './dlp.js';
import { compileRoutes } from './policy.js';
import type { EgressConfig } from './config.js';

const route = (host: string, methods: string[]): EgressRoute => ({ host, port: 443, matches: methods.length ? [{ paths: [], methods, headers: [] }] : [], auth: undefined, dlp: undefined });
const table = compileRoutes([route('ro.test', ['GET']), route('rw.test', ['GET', 'POST', 'DELETE'])]);
const ctx: ProxyContext = {
  config: {} as EgressConfig,
  audit: nullAudit(),
  log: () => undefined,
  table: () => table,
  token: () => undefined,
  tokenValues: () => [],
  known: () => NO_KNOWN,
};

/** The parts of a request admission reads. */
function req(method: string, url: string, raw: string[]): http.IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = (raw[i] ?? '').toLowerCase();
    headers[k] ??= raw[i + 1] ?? '';
  }
  return { method, url, rawHeaders: raw, headers } as unknown as http.IncomingMessage;
}

const t = (host: string) => ({ host, port: 443 });

describe('admission', () => {
  it('admits one Host naming the target', () => {
    const a = admit(ctx, req('GET', '/x', ['Host', 'ro.test']), t('ro.test'), 'ro.test');
    assert.equal(a.ok, true);
  });

  it('refuses a second Host with 400, whatever it names', () => {
    for (const second of ['evil.test', 'ro.test', 'AKIAQZ7X2M4K9P3R6T5W']) {
      const a = admit(ctx, req('GET', '/x', ['Host', 'ro.test', 'host', second]), t('ro.test'), 'ro.test');
      assert.equal(a.ok, false);
      assert.equal(!a.ok && a.status, 400);
      assert.equal(!a.ok && a.reason, 'duplicate-host');
    }
  });

  it('refuses underscore twins of framing and credential headers (Transfer_Encoding, Content_Length)', () => {
    for (const name of ['Transfer_Encoding', 'content_length', 'X_Api_Key']) {
      const a = admit(ctx, req('POST', '/x', ['Host', 'rw.test', name, 'chunked']), t('rw.test'), 'rw.test');
      assert.equal(!a.ok && a.reason, 'ambiguous-header', name);
    }
    assert.equal(admit(ctx, req('GET', '/x', ['Host', 'rw.test', 'X_Request_Id', '1']), t('rw.test'), 'rw.test').ok, true);
  });

  it('refuses an absolute-form target whose authority disagrees with Host with 400', () => {
    const a = admit(ctx, req('GET', 'https://ro.test/x', ['Host', 'evil.test']), t('ro.test'), 'ro.test');
    assert.equal(!a.ok && a.status, 400);
  });

  it('checks method-override headers and _method against the route', () => {
    for (const h of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      const a = admit(ctx, req('GET', '/x', ['Host', 'ro.test', h, 'DELETE']), t('ro.test'), 'ro.test');
      assert.equal(!a.ok && a.reason, 'method-override-not-allowed', h);
      const ok = admit(ctx, req('GET', '/x', ['Host', 'rw.test', h, 'DELETE']), t('rw.test'), 'rw.test');
      assert.equal(ok.ok, true, h);
    }
    const q = admit(ctx, req('GET', '/x?a=1&_method=delete', ['Host', 'ro.test']), t('ro.test'), 'ro.test');
    assert.equal(!q.ok && q.reason, 'method-override-not-allowed');
    assert.deepEqual(methodOverrides({ 'x-http-method': 'put, PATCH' }, '/y?_METHOD=%44ELETE'), [
      { method: 'PUT', via: 'x-http-method' },
      { method: 'PATCH', via: 'x-http-method' },
      { method: 'DELETE', via: '_method' },
    ]);
  });
});
