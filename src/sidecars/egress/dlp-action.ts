/**
 * DLP action: scan what an admitted request carries out (URL, headers, and
 * the body read up to the bound and decoded) on routes with outbound DLP,
 * then do what the route says with a finding: block it, redact it (the
 * redacted request must scan clean, or it is blocked after all), or hold it
 * for a human. Clean requests, and routes without outbound DLP, go upstream.
 */
import type * as http from 'node:http';
import type { EgressRoute, RouteDlp } from '../../manifest/types.js';
import { readBounded } from '../bounded-body.js';
import { releaseBuffer } from '../buffer-release.js';
import { DECODABLE_LIST } from './codings.js';
import { decodeContent, dlpScanOpts, matchList, redactBody, redactHeaderValue, redactTarget, scanBody, scanHead, type DlpHit, type DlpResult, type ScanOpts } from './dlp.js';
import type { Exchange } from './exchange.js';
import { holdForHuman } from './holds.js';
import { auditPath } from './reply.js';
import { DROP_REQUEST, droppedHeaders, type Upstream } from './upstream.js';

interface Body {
  readonly raw: Buffer;
  readonly decoded: Buffer;
  readonly encoded: boolean;
}

/** Scan and act on an admitted request; everything that passes goes to `upstream`. */
export function inspectAndForward(upstream: Upstream, ex: Exchange, route: EgressRoute, token: string | undefined): void {
  const { req } = ex;
  const dlp = route.dlp;
  if (dlp === undefined || !dlp.outbound) {
    ex.verdict = 'allow';
    upstream.forward(ex, route, token, undefined, undefined);
    return;
  }
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  const opts: ScanOpts = dlpScanOpts(dlp, ex.ctx.known());
  const dropped = droppedHeaders(route);
  const pairs: [string, string][] = [];
  const raw = req.rawHeaders;
  // Every header that is forwarded is scanned, but the Host: admission let exactly one through, naming the target.
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (lower === 'host' || DROP_REQUEST.has(lower) || dropped.has(lower)) continue;
    pairs.push([name, raw[i + 1]]);
  }
  const headScan = scanHead({ method: ex.method, target: ex.target, headers: pairs }, opts);
  if (!hasBody) {
    act(upstream, ex, route, dlp, token, headScan, undefined);
    return;
  }
  // Buffer the body (bounded) to scan it.
  const cap = ex.ctx.config.bodyCap;
  // Drained when too large: the client may still be uploading (curl sends a large
  // body after the 100 Continue Node gives), and closing under an unread upload
  // resets the connection, so the client never reads the 413.
  void readBounded(req, cap, { drain: true }).then((r) => {
    if (r.kind === 'error') return ex.res.destroy();
    if (r.kind === 'too-large') return ex.deny(413, 'dlp-body-too-large', `bodies over ${cap} bytes cannot be scanned, so they are refused on routes with DLP`);
    const body = r.body;
    const encoding = req.headers['content-encoding'];
    const decoded = decodeContent(body, encoding, cap);
    if (decoded === 'too-large') return ex.deny(413, 'dlp-body-too-large', `the decoded body exceeds ${cap} bytes`);
    if (decoded === 'unsupported-encoding') return ex.deny(415, 'dlp-unscannable-encoding', `Content-Encoding ${encoding ?? ''} cannot be scanned; send ${DECODABLE_LIST}`);
    if (decoded === 'corrupt') return ex.deny(400, 'dlp-corrupt-body', `the body does not decode as ${encoding ?? ''}`);
    const bodyScan = scanBody(decoded, req.headers['content-type'], opts);
    const all: DlpResult = { hits: [...headScan.hits, ...bodyScan.hits], warnings: [...headScan.warnings, ...bodyScan.warnings] };
    act(upstream, ex, route, dlp, token, all, { raw: body, decoded, encoded: decoded !== body });
  });
}

function act(upstream: Upstream, ex: Exchange, route: EgressRoute, dlp: RouteDlp, token: string | undefined, scan: DlpResult, body: Body | undefined): void {
  const { req } = ex;
  if (scan.warnings.length > 0) ex.warnings = [...new Set(scan.warnings.map((w) => `${w.rule}@${w.where}`))];
  const first: DlpHit | undefined = scan.hits[0];
  if (first === undefined) {
    ex.verdict = 'allow';
    upstream.forward(ex, route, token, body?.raw, undefined);
    // The decoded copy has been scanned and is not sent: free it now (buffer-release.ts).
    if (body?.encoded === true) releaseBuffer(body.decoded);
    return;
  }
  const matches = matchList(scan);
  const inUrl = scan.hits.some((h) => h.where === 'url');
  if (inUrl) ex.path = auditPath(redactTarget(auditPath(ex.target), matches));
  const rules = [...new Set(scan.hits.map((h) => h.rule))].join(',');
  const wheres = [...new Set(scan.hits.map((h) => h.where))].join(', ');
  ex.rule = rules;
  const blockDetail = `the request carries something matching ${rules} (in ${wheres}); the secret is not shown. Routes with auth get their token injected by the proxy: send requests without credentials.`;
  switch (dlp.on_match) {
    case 'block':
      return ex.deny(403, 'dlp-blocked', blockDetail, undefined, rules, 'dlp-block');
    case 'redact': {
      const red = redacted(req, ex.target, matches, body, route);
      // The redacted request must scan clean, or it is blocked after all.
      const opts: ScanOpts = dlpScanOpts(dlp, ex.ctx.known());
      const again = scanHead({ method: ex.method, target: red.target, headers: red.headers }, opts);
      const againBody = red.body === undefined ? undefined : scanBody(red.body, req.headers['content-type'], opts);
      if (again.hits.length > 0 || (againBody?.hits.length ?? 0) > 0) {
        return ex.deny(403, 'dlp-blocked', `${blockDetail} (redaction could not remove it)`, undefined, rules, 'dlp-block');
      }
      ex.verdict = 'dlp-redact';
      ex.reason = 'dlp-redacted';
      ex.target = red.target;
      upstream.forward(ex, route, token, red.body, red.headers);
      return;
    }
    case 'supervise':
      return holdForHuman(ex, { rules, wheres, blockDetail }, () => upstream.forward(ex, route, token, body?.raw, undefined));
    default: {
      const never: never = dlp.on_match;
      throw new Error(`unknown on_match ${String(never)}`);
    }
  }
}

/** The request with every match replaced: target, headers (hop-by-hop and credentials dropped) and body. */
function redacted(
  req: http.IncomingMessage,
  target: string,
  matches: readonly string[],
  body: Body | undefined,
  route: EgressRoute,
): { target: string; headers: [string, string][]; body: Buffer | undefined } {
  const dropped = droppedHeaders(route);
  const headers: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (DROP_REQUEST.has(lower) || dropped.has(lower)) continue;
    if (body !== undefined && (lower === 'content-length' || (body.encoded && lower === 'content-encoding'))) continue;
    headers.push([name, lower === 'host' ? raw[i + 1] : redactHeaderValue(raw[i + 1], matches)]);
  }
  const newBody = body === undefined ? undefined : redactBody(body.decoded, req.headers['content-type'], matches);
  if (newBody !== undefined) headers.push(['Content-Length', String(newBody.length)]);
  return { target: redactTarget(target, matches), headers, body: newBody };
}
