import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanText } from './index.js';
import { secretLikeValue } from './value.js';

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
