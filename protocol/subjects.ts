/** @module NATS subject and stream names (PROTOCOL.md §Subjects). All names derive from the municipality code. */

/** 6-digit administrative division code (GB/T 2260), e.g. 410800 for a city, 410802 for a district. */
export const ADMIN_CODE_RE = /^[1-9][0-9]{5}$/;

/** Node ids: lower-case, digits and dashes, e.g. `county-410802`, `hub-410800`. */
export const NODE_ID_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** Node → hub messages from one county, captured by the UP stream. */
export function upSubject(muni: string, county: string, type: string): string {
  return `jl.${muni}.up.${county}.${type}`;
}

/** Hub → every node (broadcast), captured by the DOWN stream. */
export function downBroadcastSubject(muni: string, type: string): string {
  return `jl.${muni}.down.all.${type}`;
}

/** Hub → one county, captured by the DOWN stream. */
export function downCountySubject(muni: string, county: string, type: string): string {
  return `jl.${muni}.down.${county}.${type}`;
}

/** Core-NATS request/reply to the hub from one county (anti-entropy). Not persisted. */
export function rpcSubject(muni: string, county: string, type: string): string {
  return `jl.${muni}.rpc.${county}.${type}`;
}

/** Core-NATS request/reply from the hub to one county's node (cascaded access, PROTOCOL.md §Sharing). Not persisted. */
export function serveSubject(muni: string, county: string, type: string): string {
  return `jl.${muni}.serve.${county}.${type}`;
}

/** Stream definitions the hub creates; nodes only bind consumers to them. */
export function streamNames(muni: string): { up: string; down: string; pkg: string } {
  return { up: `JL_${muni}_UP`, down: `JL_${muni}_DOWN`, pkg: `JL_${muni}_PKG` };
}

/** One chunk of a data package, raw bytes (PACKAGES.md §11); one message per subject. */
export function packageChunkSubject(muni: string, county: string, packageId: string, index: number): string {
  return `jl.${muni}.pkg.${county}.${packageId}.${index}`;
}

export function pkgStreamSubjects(muni: string): string[] {
  return [`jl.${muni}.pkg.>`];
}

export function upStreamSubjects(muni: string): string[] {
  return [`jl.${muni}.up.>`];
}

export function downStreamSubjects(muni: string): string[] {
  return [`jl.${muni}.down.>`];
}

/** Subjects one county's consumer of the DOWN stream reads: broadcasts plus its own. */
export function downFilterSubjects(muni: string, county: string): string[] {
  return [`jl.${muni}.down.all.>`, `jl.${muni}.down.${county}.>`];
}

/** The county code an UP subject was published under, or null if the subject is not an UP subject. */
export function countyOfUpSubject(muni: string, subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length < 5 || parts[0] !== 'jl' || parts[1] !== muni || parts[2] !== 'up') return null;
  return parts[3] ?? null;
}

/** One row of the subject table (PROTOCOL.md §4): a subject pattern and the message tags that travel on it. */
export interface SubjectRoute {
  /** The pattern as PROTOCOL.md writes it: `<muni>`, `<county>`, `<type>` (the message tag), `<packageId>`, `<index>`. */
  subject: string;
  /** Who publishes → who subscribes. */
  direction: string;
  /** Tags published on the subject (for request/reply: the requests). Empty: raw bytes, no envelope. */
  carries: readonly string[];
  /** Request/reply only: the tags a reply may carry (`raw` = the raw bytes of a package chunk, no envelope). */
  replies: readonly string[];
  transport: string;
}

/**
 * Every subject the protocol uses and every tag on it, in the order of PROTOCOL.md §4's table. The
 * subject helpers above build these subjects; protocol/subjects.test.ts checks the table in the
 * spec against this list, this list against MESSAGE_TYPES, and the helpers' literal uses in the
 * hub and node code against this list.
 */
export const SUBJECT_ROUTES: readonly SubjectRoute[] = [
  {
    subject: 'jl.<muni>.up.<county>.<type>',
    direction: 'county node → hub',
    carries: ['catalog.update', 'keys.rotate', 'audit.checkpoint', 'package.offer', 'application.submit', 'application.decide'],
    replies: [],
    transport: 'JetStream, stream UP',
  },
  {
    subject: 'jl.<muni>.down.all.<type>',
    direction: 'hub → every node',
    carries: ['catalog.update', 'keys.directory', 'grant.revocations'],
    replies: [],
    transport: 'JetStream, stream DOWN',
  },
  {
    subject: 'jl.<muni>.down.<county>.<type>',
    direction: 'hub → one county',
    carries: ['package.resume', 'package.status', 'package.grant', 'application.update', 'grant.issue'],
    replies: [],
    transport: 'JetStream, stream DOWN',
  },
  {
    subject: 'jl.<muni>.pkg.<county>.<packageId>.<index>',
    direction: 'county node → hub',
    carries: [],
    replies: [],
    transport: 'JetStream, stream PKG',
  },
  {
    subject: 'jl.<muni>.rpc.<county>.catalog.sync',
    direction: 'node → hub',
    carries: ['catalog.sync.digest', 'catalog.sync.pull'],
    replies: ['catalog.sync.digest.reply', 'catalog.sync.pull.reply', 'error'],
    transport: 'core NATS request/reply, not persisted',
  },
  {
    subject: 'jl.<muni>.rpc.<county>.package.chunk',
    direction: 'consumer node → hub',
    carries: ['package.chunk.get'],
    replies: ['raw', 'error'],
    transport: 'core NATS request/reply',
  },
  {
    subject: 'jl.<muni>.rpc.<county>.access',
    direction: 'consumer node → hub',
    carries: ['access.request'],
    replies: ['access.answer', 'error'],
    transport: 'core NATS request/reply',
  },
  {
    subject: 'jl.<muni>.serve.<county>.access',
    direction: 'hub → provider node',
    carries: ['access.forward'],
    replies: ['access.answer', 'error'],
    transport: 'core NATS request/reply',
  },
];
