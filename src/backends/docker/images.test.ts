// The pure parts of image recipes: FROM lines and reference spelling (the
// builds themselves run against the engine in test/images.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familiarRef, parseFromRefs } from './images.js';

void test('parseFromRefs: ARG substitution, stage names, scratch, --platform', () => {
  const df = [
    'ARG BASE=debian:bookworm-slim',
    'ARG NODE',
    'FROM --platform=linux/amd64 ${BASE} AS build',
    'RUN echo hi \\',
    '  FROM not-an-instruction',
    'FROM ${NODE:-node:20} AS node',
    'from build',
    'FROM scratch',
    'FROM debian:bookworm-slim',
  ].join('\n');
  assert.deepEqual(parseFromRefs(df, {}), ['debian:bookworm-slim', 'node:20']);
  assert.deepEqual(parseFromRefs(df, { NODE: 'bot-bottle/node:abc' }), ['debian:bookworm-slim', 'bot-bottle/node:abc']);
  assert.equal(familiarRef('docker.io/library/debian'), 'debian:latest');
  assert.equal(familiarRef('localhost:5000/x'), 'localhost:5000/x:latest');
  assert.equal(familiarRef('debian:bookworm-slim'), 'debian:bookworm-slim');
});

