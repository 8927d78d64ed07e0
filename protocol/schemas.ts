// Registry of protocol schemas exported as JSON Schema by scripts/protocol-schema.ts (file name = key).
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { CatalogContent, CatalogEntryView, CatalogReview } from './catalog-entry.ts';
import { EnvelopeBody } from './envelope.ts';
import { PackageChunkGet, PackageGrant, PackageResume, PackageStatus, SignedPackageHeader } from './package-messages.ts';
import { AuditCheckpoint } from './audit-checkpoint.ts';
import { EnrollRequest, EnrollResponse } from './enrollment.ts';
import { KeyDirectory, KeyRotation } from './key-directory.ts';
import { Grant, RevocationList } from './grant.ts';
import { AccessAnswer, AccessForward, AccessRequest, ApplicationDecide, ApplicationSubmit, ApplicationUpdate, GrantIssue, GrantRevocations, QueryResult, VerifyResult } from './sharing-messages.ts';
import { CatalogUpdate, ErrorReply, SyncDigestReply, SyncDigestRequest, SyncPullReply, SyncPullRequest } from './messages.ts';

export const schemas: Record<string, z.ZodType> = {
  CatalogContent,
  CatalogReview,
  CatalogEntryView,
  EnvelopeBody,
  'message.catalog.update': CatalogUpdate,
  'message.catalog.sync.digest': SyncDigestRequest,
  'message.catalog.sync.digest.reply': SyncDigestReply,
  'message.catalog.sync.pull': SyncPullRequest,
  'message.catalog.sync.pull.reply': SyncPullReply,
  'message.error': ErrorReply,
  'message.keys.directory': KeyDirectory,
  'message.keys.rotate': KeyRotation,
  'message.audit.checkpoint': AuditCheckpoint,
  EnrollRequest,
  EnrollResponse,
  'message.package.offer': SignedPackageHeader,
  'message.package.resume': PackageResume,
  'message.package.status': PackageStatus,
  'message.package.grant': PackageGrant,
  'message.package.chunk.get': PackageChunkGet,
  'message.application.submit': ApplicationSubmit,
  'message.application.decide': ApplicationDecide,
  'message.application.update': ApplicationUpdate,
  'message.grant.issue': GrantIssue,
  'message.grant.revocations': GrantRevocations,
  'message.access.request': AccessRequest,
  'message.access.forward': AccessForward,
  'message.access.answer': AccessAnswer,
  Grant,
  RevocationList,
  QueryResult,
  VerifyResult,
};

/** JSON Schema text of one registry entry, keys sorted. Refinements (superRefine rules) are not represented. */
export function renderSchema(name: string, schema: z.ZodType): string {
  // io 'input': fields with defaults are optional, matching what a sender may omit.
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return JSON.stringify(JSON.parse(canonicalJson({ title: name, ...json })), null, 2) + '\n';
}
