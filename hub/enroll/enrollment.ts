/**
 * @module Enrollment at the hub: check the join token and the proof of key possession, register
 * the node's public keys, and answer with what the node needs to join (hub keys, NATS addresses).
 */
import { verifyEnrollProof, type EnrollRequest, type EnrollResponse } from '../../protocol/enrollment.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { JoinTokens } from './join-tokens.ts';

export interface HubPublicInfo {
  municipality: string;
  municipalityName: string;
  nodeId: string;
  signingKey: string;
  encryptionKey: string;
  nats: string[];
}

export class Enrollment {
  constructor(
    private readonly db: Db,
    private readonly tokens: JoinTokens,
    private readonly registry: NodeRegistry,
    private readonly clock: Clock,
    private readonly hub: HubPublicInfo,
    /** Called inside the registering transaction (audit, key directory). */
    private readonly onEnrolled: (req: EnrollRequest) => void = () => undefined,
  ) {}

  enroll(req: EnrollRequest): EnrollResponse {
    if (!verifyEnrollProof(req)) {
      throw new AppError('PROOF_INVALID', '密钥持有证明验证失败', 'proof of key possession does not verify', [{ path: 'proof', code: 'invalid', message: 'bad signature' }]);
    }
    this.db.transaction(() => {
      // The token is checked first, so without one nobody can probe which node ids exist.
      this.tokens.consume(req.token, req.county, req.nodeId);
      const existing = this.registry.list().find((n) => n.nodeId === req.nodeId);
      if (existing) {
        throw new AppError('CONFLICT', `节点标识 ${req.nodeId} 已被使用；重新部署请使用新的节点标识`, `node id ${req.nodeId} is taken; a re-installed node needs a new node id`, [
          { path: 'nodeId', code: 'taken', message: 'already registered' },
        ]);
      }
      this.registry.register({ nodeId: req.nodeId, county: req.county, name: req.countyName, publicKey: req.signingKey, encryptionKey: req.encryptionKey, natsNkey: req.natsNkey }, this.clock.now());
      this.onEnrolled(req);
    })();
    return {
      municipality: this.hub.municipality,
      municipalityName: this.hub.municipalityName,
      hub: { nodeId: this.hub.nodeId, signingKey: this.hub.signingKey, encryptionKey: this.hub.encryptionKey },
      nats: this.hub.nats,
    };
  }
}
