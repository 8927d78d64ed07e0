/**
 * @module Typed dispatch of verified envelopes. Each receiver declares the message types it accepts
 * (`const UP_TYPES = [...] as const`) and one handler per type (`Handlers<UpType, …>`): a declared type
 * without a handler, or a handler for an undeclared type, does not compile. A type outside the set is
 * refused by the receiver (`MESSAGE_UNKNOWN_TYPE`, PROTOCOL.md §Errors).
 */
import type { AnyEnvelope, Envelope } from './envelope.ts';
import type { MessageType } from './messages.ts';

/** One handler per accepted type; each receives its envelope already narrowed. */
export type Handlers<Types extends MessageType, Args extends unknown[] = [], R = void> = {
  readonly [K in Types]: (env: Envelope<K>, ...args: Args) => R;
};

/** A type guard for the set of types a receiver accepts. */
export function acceptsTypes<const Types extends readonly MessageType[]>(types: Types): (env: AnyEnvelope) => env is AnyEnvelope & Envelope<Types[number]> {
  const set: ReadonlySet<string> = new Set(types);
  return (env): env is AnyEnvelope & Envelope<Types[number]> => set.has(env.type);
}

/** Call the handler of the envelope's type. */
export function dispatch<Types extends MessageType, K extends Types, Args extends unknown[], R>(handlers: Handlers<Types, Args, R>, env: Envelope<K>, ...args: Args): R {
  const handler: (env: Envelope<K>, ...args: Args) => R = handlers[env.type];
  return handler(env, ...args);
}
