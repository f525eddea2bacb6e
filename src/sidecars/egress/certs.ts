/**
 * The per-bottle CA and the leaf certificates minted from it.
 *
 * The CA is ECDSA P-256 (fast to sign with, small to send). Its key is
 * written only inside `caDir` (a tmpfs in the bundle), so a restarted proxy
 * process keeps the same CA; only the certificate is copied to `caCertOut`.
 * Leaves are minted per host on first use and kept in an LRU; like mitmproxy,
 * every leaf of a process shares one key pair, which makes minting a single
 * signature (~5 ms) and a handshake's context creation cheap.
 */
import { webcrypto, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type * as X509 from '@peculiar/x509';
import { makeCaCertificate } from './ca-cert.js';

let x509Lib: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509, loaded on first use (the first leaf): loading it is ~60 ms of
 * CPU that the proxy's boot, on the bottle's start path, does not need (ca-cert.ts).
 */
function loadX509(): Promise<typeof X509> {
  x509Lib ??= import('@peculiar/x509').then((mod) => {
    // A CommonJS package imported from an esbuild chunk (the CLI, for `egress serve` and the
    // demo's upstream) arrives as its default export only; Node's loader also names its exports.
    const x509 = 'cryptoProvider' in mod ? mod : (mod as unknown as { default: typeof X509 }).default;
    // Hand the library Node's own webcrypto rather than whatever global a bundle's environment has.
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  });
  return x509Lib;
}

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const subtle = webcrypto.subtle;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** Leaves are valid this long and re-minted when a day from expiry. */
const LEAF_DAYS = 30;
const CA_DAYS = 3 * 365;

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

export interface CaMaterial {
  readonly certPem: string;
  /** PKCS#8 PEM. Never leaves caDir, the process, or its workers. */
  readonly keyPem: string;
}

function pem(label: string, der: ArrayBuffer | Buffer): string {
  const b64 = (Buffer.isBuffer(der) ? der : Buffer.from(der)).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function pemBody(text: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (m === null || m[1] === undefined) throw new Error(`no ${label} PEM block`);
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Make a new CA. */
export function createCa(identity: string): Promise<CaMaterial> {
  const now = Date.now();
  // Names are printable: keep the identity to a safe alphabet.
  const cn = `bot-bottle egress CA ${identity.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40)}`;
  const { certDer, keyPem } = makeCaCertificate(cn, 'bot-bottle', new Date(now - DAY), new Date(now + CA_DAYS * DAY));
  return Promise.resolve({ certPem: pem('CERTIFICATE', certDer) + '\n', keyPem });
}

/**
 * The CA in `caDir`, made there (key mode 600, folder 700) when absent or
 * unreadable. A restarted proxy thus keeps its CA for the bundle's lifetime.
 */
export async function loadOrCreateCa(caDir: string, identity: string): Promise<CaMaterial> {
  const certPath = join(caDir, CA_CERT_FILE);
  const keyPath = join(caDir, CA_KEY_FILE);
  try {
    const ca = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
    await importCaKey(ca); // proves the pair is usable
    const notAfter = Date.parse(new X509Certificate(ca.certPem).validTo);
    if (notAfter > Date.now() + 7 * DAY) return ca;
  } catch {
    // absent, torn or expiring: make a new one below
  }
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  chmodSync(caDir, 0o700);
  const ca = await createCa(identity);
  writeAtomic(keyPath, ca.keyPem, 0o600);
  writeAtomic(certPath, ca.certPem, 0o644);
  return ca;
}

/** Write the CA certificate (only) where the host reads it. */
export function writeCaCert(ca: CaMaterial, out: string): void {
  mkdirSync(dirname(out), { recursive: true });
  writeAtomic(out, ca.certPem, 0o644);
}

async function importCaKey(ca: CaMaterial): Promise<CryptoKey> {
  return (await subtle.importKey('pkcs8', pemBody(ca.keyPem, 'PRIVATE KEY'), ALG, false, ['sign']));
}

interface MinterState {
  readonly x509: typeof X509;
  readonly caKey: CryptoKey;
  readonly caCert: X509.X509Certificate;
  readonly leafKeys: CryptoKeyPair;
  readonly leafKeyPem: string;
  readonly aki: X509.AuthorityKeyIdentifierExtension;
}

interface Leaf {
  readonly context: SecureContext;
  readonly renewAt: number;
}

/** Mints and caches one TLS server context per host name. */
export class LeafMinter {
  private readonly cache = new Map<string, Leaf>();
  private readonly pending = new Map<string, Promise<SecureContext>>();
  private state: Promise<MinterState> | undefined;

  constructor(
    private readonly ca: CaMaterial,
    private readonly max = 1000,
  ) {}

  private init(): Promise<MinterState> {
    this.state ??= (async () => {
      const x509 = await loadX509();
      const caKey = await importCaKey(this.ca);
      const caCert = new x509.X509Certificate(this.ca.certPem);
      const leafKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify']));
      const leafKeyPem = pem('PRIVATE KEY', await subtle.exportKey('pkcs8', leafKeys.privateKey));
      const aki = await x509.AuthorityKeyIdentifierExtension.create(caCert, false);
      return { x509, caKey, caCert, leafKeys, leafKeyPem, aki };
    })();
    return this.state;
  }

  /** The server context for `host`, from the cache when fresh. */
  contextFor(host: string): Promise<SecureContext> {
    const hit = this.cache.get(host);
    if (hit !== undefined && hit.renewAt > Date.now()) {
      // LRU: move to the newest end.
      this.cache.delete(host);
      this.cache.set(host, hit);
      return Promise.resolve(hit.context);
    }
    const inflight = this.pending.get(host);
    if (inflight !== undefined) return inflight;
    const p = this.mint(host).finally(() => this.pending.delete(host));
    this.pending.set(host, p);
    return p;
  }

  /** Synchronous cache lookup (the hot path of a new tunnel). */
  cached(host: string): SecureContext | undefined {
    const hit = this.cache.get(host);
    return hit !== undefined && hit.renewAt > Date.now() ? hit.context : undefined;
  }

  private async mint(host: string): Promise<SecureContext> {
    const s = await this.init();
    const { x509 } = s;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host}`,
      // The CA's subject as its bytes, not re-encoded from text: rustls (Codex) matches issuer to subject byte for byte.
      issuer: s.caCert.subjectName,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + LEAF_DAYS * DAY),
      signingKey: s.caKey,
      publicKey: s.leafKeys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }], false),
        s.aki,
        await x509.SubjectKeyIdentifierExtension.create(s.leafKeys.publicKey),
      ],
    });
    const context = createSecureContext({ key: s.leafKeyPem, cert: cert.toString('pem'), minVersion: 'TLSv1.2' });
    this.cache.set(host, { context, renewAt: now + (LEAF_DAYS - 1) * DAY });
    while (this.cache.size > this.max) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return context;
  }
}
