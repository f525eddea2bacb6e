/** The orchestrator-facing names of SPEC §2: thin, typed, headless. */
import type { Settings } from '../settings.js';
import type { BottleSpec } from '../bottle/spec.js';
import { startBottle, type StartOptions } from './start.js';
import { commitBottle, listBottles, resumeBottle, stopBottle, type BottleListing } from './manage.js';

export type HeadlessSpec = Omit<BottleSpec, 'headless' | 'identity'>;

/** Start a detached, headless bottle; resolves to its identity once ready. */
export async function startHeadless(settings: Settings, spec: HeadlessSpec, opts: Omit<StartOptions, 'detach' | 'ask'> = {}): Promise<string> {
  const started = await startBottle(settings, { ...spec, headless: true, identity: undefined }, { ...opts, detach: true });
  return started.identity;
}

export async function resume(settings: Settings, identity: string, opts: Omit<StartOptions, 'detach'> = {}): Promise<string> {
  return (await resumeBottle(settings, identity, { ...opts, detach: true, headless: true })).identity;
}

/** Snapshot and preserve; returns the image tag the next resume boots from. */
export function freeze(settings: Settings, identity: string): Promise<string> {
  return commitBottle(settings, identity);
}

export function destroy(settings: Settings, identity: string): Promise<void> {
  return stopBottle(settings, identity);
}

export function list(settings: Settings): Promise<BottleListing[]> {
  return listBottles(settings);
}
