/**
 * The library's only public surface: one name per operation. The CLI imports
 * bot-bottle through this file like any orchestrator would.
 */
export { readSettings, type Settings } from './settings.js';
export { BottleError, ManifestError, ExitCode, isBottleError } from './errors.js';
export { stderrProgress, silentProgress, type Progress } from './progress.js';
export type { BottleSpec, BackendName } from './bottle/spec.js';
export { BACKENDS } from './bottle/spec.js';

// Lifecycle (SPEC §2-3).
export { start, startHeadless, runSession, endSession, type StartOptions, type Started, type SessionIO, type AskSecret, type HeadlessSpec } from './api/start.js';
export { list, destroy, resume, freeze, exec, findOrphans, cleanup, type BottleListing, type BottleStatus, type CleanupReport, type Frozen } from './api/manage.js';
export { rebuildAndResume } from './api/capability.js';
export { doctor } from './api/doctor.js';
export { exportBottle, type ExportOptions, type ExportResult } from './api/export.js';
export { listAgents, listBottles as listBottleManifests } from './manifest/index.js';
export { readAudit, followAudit, type AuditEntry } from './bottle/audit.js';

// Supervise: proposals of every bottle, decided by a human.
export {
  listProposals,
  findProposal,
  decideProposal,
  capabilityDiff,
  editableText,
  parseEditedText,
  proposalsDir as superviseQueueDir,
  type LocatedProposal,
  type HumanDecision,
  type DecideResult,
} from './api/proposals.js';
export type { Proposal, ProposalKind, ProposalState } from './sidecars/supervise/queue.js';

// Tools.
export { serveEgress, type EgressServeOptions, type EgressServer } from './api/egress.js';
export { scanRange, type GitFinding, type GitScanOptions } from './secrets/index.js';
export { runDemo, type DemoStep } from './api/demo.js';

// A backend of one's own (bottle/backend.ts documents the contract).
export { withBackends, type BackendFactory } from './backends/index.js';
export type { Backend, Plan, PrepareInput, AgentImage, ExecIO, RunningBottle, DoctorCheck } from './bottle/backend.js';
export type { PreparedSidecar, SidecarPlan } from './bottle/sidecar.js';

// Bottle text shown to a human (terminal, page, log, error): control, bidi and invisible characters made visible.
export { visible, visibleJson, hasHidden, escapeCodePoint, type VisibleOptions } from './untrusted.js';
// Everyday use (issue 15): identities by prefix, planning without secrets, validation, the record that outlives a bottle.
export { resolveIdentity, knownIdentities, pickIdentity, type ResolveOptions } from './api/identities.js';
export { planBottle, secretNeeds, type PlanReport, type SecretNeed, type NeedSource } from './api/plan.js';
export { validateManifests, type FileCheck, type ManifestKind } from './api/validate.js';
export { readRecord, listArchive, auditWindow, parseSince, type BottleRecord, type ArchivedBottle, type AuditWindow } from './api/record.js';
export { auditOrigin } from './bottle/audit.js';
export { readArchived } from './bottle/archive.js';
export { packageVersion } from './paths.js';
