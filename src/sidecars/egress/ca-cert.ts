/**
 * The per-bottle CA certificate, encoded here in DER with node:crypto
 * signing it. The CA is on the bottle's start path (the agent's trust store
 * waits for it), and making it with @peculiar/x509 cost about a third of the
 * egress proxy's boot: loading that library (its ASN.1 schemas for RSA, CMS
 * and more) and its schema-driven encoder, ~100 ms of CPU on the bench box
 * while the engine starts the agent on the same two cores. One fixed shape of
 * certificate needs none of that; leaves are still minted with the library
 * (certs.ts), which is loaded on the first intercepted TLS connection.
 *
 * Shape (RFC 5280): v3, ecdsa-with-SHA256, subject = issuer = CN, O;
 * basicConstraints critical CA:TRUE pathlen 0; keyUsage critical
 * keyCertSign + cRLSign; subjectKeyIdentifier = SHA-1 of the public key.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, 'hex'));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.from([unused]), b);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

const OID = {
  ecdsaWithSha256: '2a8648ce3d040302',
  commonName: '550403',
  organization: '55040a',
  basicConstraints: '551d13',
  keyUsage: '551d0f',
  subjectKeyId: '551d0e',
} as const;

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

/** A positive 127-bit serial whose DER form is minimal (first byte in 0x40..0x7f). */
function serial(): Buffer {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x3f) | 0x40;
  return tlv(0x02, b);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [TRUE] : []), octets(value));
}

export interface CaPair {
  readonly certDer: Buffer;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

/** A new ECDSA P-256 key and its self-signed CA certificate named `CN=<cn>, O=<org>`. */
export function makeCaCertificate(cn: string, org: string, notBefore: Date, notAfter: Date): CaPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The uncompressed point: the last 65 bytes of a P-256 SPKI (its BIT STRING's contents).
  const point = spki.subarray(spki.length - 65);
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const name = seq(set(seq(oid(OID.commonName), utf8(cn))), set(seq(oid(OID.organization), utf8(org))));
  const extensions = seq(
    extension(OID.basicConstraints, true, seq(TRUE, tlv(0x02, Buffer.from([0])))),
    // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, the last bit unused.
    extension(OID.keyUsage, true, bits(Buffer.from([0x06]), 1)),
    extension(OID.subjectKeyId, false, octets(createHash('sha1').update(point).digest())),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    serial(),
    algorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  return {
    certDer: seq(tbs, algorithm, bits(signature)),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
