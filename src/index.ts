/**
 * The library's only public surface. The CLI imports bot-bottle through this
 * file like any orchestrator would.
 */
export { readSettings, type Settings } from './settings.js';
export { BottleError, ManifestError, ExitCode, isBottleError } from './errors.js';
export type { BottleSpec, BackendName } from './bottle/spec.js';
export { BACKENDS } from './bottle/spec.js';
export { startBottle, runSession, endSession, type StartOptions, type Started, type SessionIO, type AskSecret } from './api/start.js';
export {
  listBottles,
  stopBottle,
  resumeBottle,
  findOrphans,
  cleanupOrphans,
  execInBottle,
  commitBottle,
  type BottleListing,
  type BottleStatus,
} from './api/manage.js';
export { startHeadless, destroy, freeze, resume, list } from './api/orchestrator.js';
export { doctor } from './api/doctor.js';
export { exportBottle, type ExportOptions, type ExportResult } from './api/export.js';
export { listAgents, listBottles as listBottleManifests } from './manifest/index.js';
export { stderrProgress, silentProgress, type Progress } from './progress.js';
export { readAudit, followAudit, type AuditEntry } from './bottle/audit.js';
export { readMetadata } from './bottle/state.js';
export {
  listProposals,
  findProposal,
  decideProposal,
  applyCapability,
  approvedEgressRoutes,
  capabilityDiff,
  editableText,
  parseEditedText,
  validateEdit,
  proposalsDir as superviseQueueDir,
  type LocatedProposal,
  type HumanDecision,
  type DecideResult,
} from './api/proposals.js';
export type { Proposal, ProposalKind, ProposalState } from './sidecars/supervise/queue.js';
export { rebuildAndResume } from './api/capability.js';
// Bottle text shown to a human (terminal, page, log, error): control, bidi and invisible characters made visible.
export { visible, visibleJson, hasHidden, escapeCodePoint, type VisibleOptions } from './untrusted.js';
