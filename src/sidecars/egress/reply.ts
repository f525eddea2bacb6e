/**
 * How the proxy speaks a refusal: in the protocol (status, a machine-readable
 * reason header, the rule header for DLP findings) with a body that says
 * which route would allow the request.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';

export const REASON_HEADER = 'x-bot-bottle-reason';
export const RULE_HEADER = 'x-bot-bottle-rule';
export const INBOUND_WARNING_HEADER = 'x-bot-bottle-inbound-warning';

export function denyText(what: string, reason: string, detail: string, suggestion: string | undefined): string {
  let s = `bot-bottle egress denied: ${what}\nreason: ${reason}: ${detail}\n`;
  if (suggestion !== undefined) {
    s += `\nThe route that would allow it (add it to the bottle, or ask for it through supervise):\n\n${suggestion}`;
  }
  return s;
}

/** Raw 403 (or other) on a socket that is not (or no longer) an http response. */
export function rawReply(socket: Duplex, status: number, reason: string, body: string): void {
  const text = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : status === 502 ? 'Bad Gateway' : 'Error';
  const buf = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\n${REASON_HEADER}: ${reason}\r\nContent-Length: ${buf.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body, null, 2) + '\n');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, 'cache-control': 'no-store' });
  res.end(buf);
}

export function sendDeny(res: http.ServerResponse, status: number, reason: string, text: string, close: boolean, rule?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const buf = Buffer.from(text, 'utf8');
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': buf.length, [REASON_HEADER]: reason, 'cache-control': 'no-store' };
  if (rule !== undefined) headers[RULE_HEADER] = rule;
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(buf);
}

/** The path as the audit log records it: no query, bounded length. */
export function auditPath(target: string): string {
  const q = target.indexOf('?');
  const p = q === -1 ? target : target.slice(0, q);
  return p.length > 512 ? `${p.slice(0, 512)}…` : p;
}
