/**
 * @module Package transport messages (PACKAGES.md §11): the signed header offered to the hub
 * (`package.offer`, tag 10), the hub asking for missing chunks (`package.resume`, 11) and the hub's
 * verdict (`package.status`, 12). Chunks themselves travel raw on the PKG stream.
 */
import { z } from 'zod';
import { PACKAGE_ERROR_CODES, SignedPackageHeader } from './data-package.ts';

export { SignedPackageHeader };

const packageId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

export const PackageResume = z
  .object({
    packageId,
    /** Inclusive [from, to] chunk index ranges the hub could not get. */
    ranges: z
      .array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]))
      .min(1)
      .max(64),
  })
  .strict();
export type PackageResume = z.infer<typeof PackageResume>;

export const PackageStatus = z
  .object({
    packageId,
    status: z.enum(['stored', 'refused']),
    code: z.enum(PACKAGE_ERROR_CODES).nullable(),
  })
  .strict();
export type PackageStatus = z.infer<typeof PackageStatus>;

/** `package.grant` (tag 13), hub → the consumer's county: a stored package re-sealed for a batch grant. */
export const PackageGrant = z
  .object({
    grantId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    /** The sender's signed header with the consumer's recipient entry added (PACKAGES.md §10). */
    signed: SignedPackageHeader,
  })
  .strict();
export type PackageGrant = z.infer<typeof PackageGrant>;

/** `package.chunk.get` (tag 14), consumer → hub request; the reply is the raw chunk with header `Jl-Chunk: <index>`, or an `error` envelope. */
export const PackageChunkGet = z.object({ packageId, index: z.number().int().nonnegative() }).strict();
export type PackageChunkGet = z.infer<typeof PackageChunkGet>;
