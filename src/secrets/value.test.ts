import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanText } from './index.js';
import { keyboardMash, secretLikeValue } from './value.js';

void test('paths, secret-store references, identifiers, words and templates are not secret values', () => {
  for (const v of [
    'notifications/currency',
    'kv/scheduler/cursor',
    'secret/data/prod/billing',
    'qa/payments-GMIEAp',
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf',
    'projects/shop-prod/secrets/stripe-key/versions/latest',
    'op://prod/stripe/credential',
    'https://auth.example.com/oauth/token',
    '${DB_PASSWORD}',
    '{{ .Values.billing.apiKey }}',
    'password-reset-route',
    'X-Checkout-Token',
    'options!==null&&options!==void',
    '==i.token+1',
  ]) {
    assert.equal(secretLikeValue(v), false, v);
  }
});

void test('random strings and passwords with symbols are secret values', () => {
  for (const v of ['x7Kp2mQz9RtL4vNw8YbC3dFg', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzKEYabcd', 'PLeeaw^Hw5PX*281', 'k3v9q2m8x7p4z1w6r5t0y8u2i4o6a9s3']) {
    assert.equal(secretLikeValue(v), true, v);
  }
});

void test('the generic rule is quiet on lines that name a secret but hold a reference', () => {
  const text = [
    'const secretRef = "notifications/currency";',
    'secretPath := "kv/scheduler/cursor"',
    'DB_PASSWORD_SECRET_NAME=payments-db-credentials',
    '  secretName: billing-api-tls',
    '  api_key = var.stripe_api_key',
  ].join('\n');
  assert.deepEqual(scanText(text), []);
  assert.equal(scanText('const clientSecret = "x7Kp2mQz9RtL4vNw8YbC3dFg";')[0]?.rule, 'generic-secret');
});

// Found on real code the rules were not tuned on (bench/scan/fresh.ts): each of these was a generic-secret finding.
void test('names in code are not secret values: camelCase with a short chunk or an abbreviation, constants in capitals, a word and a number', () => {
  for (const v of [
    'MyTestDatabaseSecret-a1b2c3', // an AWS Secrets Manager name with its random suffix
    '_StrPathToken', // a type
    'jwtTestEC256PrivateKey',
    '_AzureApiKeyT',
    '_STS_REQUESTED_TOKEN_TYPE', // constants
    'AUTH0_VERIFIABLE_CREDENTIALS',
    '_HUGGINGFACE_API_KEY_ENV_NAME',
    '_process$env$NEXTAUTH3', // compiled JavaScript
    'token123',
    '_ProviderT', // a type parameter
    'AWSSDKCredentialProvider', // a type name after two acronyms (`credentialFetcher: AWSSDKCredentialProvider`, mongodb)
  ]) {
    assert.equal(secretLikeValue(v), false, v);
  }
});

void test('tokens typed by hand on the home row are documentation examples; hex and mixed case are still judged as random', () => {
  for (const v of ['lsdajfh923874', 'sdf0o9823sjdfsdf', '2kjshdfp92i34asdasd', 'askfjh234as9sd8']) {
    assert.equal(keyboardMash(v), true, v);
    assert.equal(secretLikeValue(v), false, v);
  }
  for (const v of ['18f4f6761ada4e3795fa5273c30349b9', 'daf4a3dd8fa2d1fa', 'GEnj19#Fgs1v&784', 'jhg5dsKaLdfS9hjD', 'k3v9q2m8x7p4z1w6r5t0y8u2i4o6a9s3']) {
    assert.equal(keyboardMash(v), false, v);
    assert.equal(secretLikeValue(v), true, v);
  }
});

void test('one-brace templates and AWS SigV4 credential scopes are references', () => {
  for (const v of ['{OPTIONAL_CLIENT_SECRET}', '{DASHVECTOR_API_KEY}', 'a7f1e798b7c2417cba4a02de97dc3cdc/00010101/region1/ec2/aws4_request']) {
    assert.equal(secretLikeValue(v), false, v);
  }
});

/** A seeded generator (xorshift): the same values every run. */
function randomValues(alphabet: string, length: number, n: number, seed: number): string[] {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return Array.from({ length: n }, () => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
}

void test('the name and word checks keep random values: at least 99% of random 16-character alphanumerics, 95% of lower case and digits', () => {
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const share = (vs: string[]) => vs.filter((v) => secretLikeValue(v)).length / vs.length;
  assert.ok(share(randomValues(alnum, 16, 4000, 12345)) >= 0.99);
  assert.ok(share(randomValues(alnum, 32, 2000, 777)) >= 0.999);
  assert.ok(share(randomValues('abcdefghijklmnopqrstuvwxyz0123456789', 16, 4000, 4242)) >= 0.95);
  assert.equal(share(randomValues('0123456789abcdef', 32, 2000, 99)), 1);
});
