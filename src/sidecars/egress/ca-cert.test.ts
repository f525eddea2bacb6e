import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, LeafMinter } from './certs.js';

test('the CA is a self-signed P-256 CA certificate that the key in its PEM signed', async () => {
  const ca = await createCa('bench-x1 <odd>');
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.ca, true);
  assert.equal(cert.subject, 'CN=bot-bottle egress CA bench-x1--odd-\nO=bot-bottle');
  assert.equal(cert.issuer, cert.subject);
  assert.ok(cert.checkIssued(cert));
  assert.ok(cert.verify(cert.publicKey));
  const key = createPrivateKey(ca.keyPem);
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(cert.checkPrivateKey(key));
  const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
  assert.ok(days > 3 * 365 && days < 3 * 365 + 2, `validity ${days} days`);
  // Every CA gets its own serial and key.
  const other = new X509Certificate((await createCa('bench-x1')).certPem);
  assert.notEqual(other.serialNumber, cert.serialNumber);
  assert.notEqual(other.fingerprint256, cert.fingerprint256);
});

test('OpenSSL reads the CA as strict DER with the CA extensions, and verifies a leaf minted from it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createCa('openssl');
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  execFileSync('openssl', ['asn1parse', '-in', caFile, '-strictpem'], { stdio: 'ignore' });
  const text = execFileSync('openssl', ['x509', '-in', caFile, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text, /Subject Key Identifier/);
  assert.match(execFileSync('openssl', ['verify', '-CAfile', caFile, caFile], { encoding: 'utf8' }), /OK/);

  // A leaf: its chain verifies against the CA (the proxy's handshakes are tested in proxy.test.ts).
  const minter = new LeafMinter(ca);
  const context = await minter.contextFor('example.test');
  const leafPem = (context.context as unknown as { getCertificate(): Buffer | null }).getCertificate();
  assert.ok(leafPem !== null);
  const leaf = new X509Certificate(leafPem);
  const caCert = new X509Certificate(ca.certPem);
  assert.ok(leaf.checkIssued(caCert));
  assert.ok(leaf.verify(caCert.publicKey));
  // OpenSSL and Node compare names after normalising them; rustls and webpki compare bytes.
  const x509 = await import('@peculiar/x509');
  assert.deepEqual(
    Buffer.from(new x509.X509Certificate(leafPem).issuerName.toArrayBuffer()),
    Buffer.from(new x509.X509Certificate(ca.certPem).subjectName.toArrayBuffer()),
    "the leaf's issuer is the CA's subject, byte for byte",
  );
});
