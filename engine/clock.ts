/** @module Injectable clock, so deadline and expiry logic is testable without waiting. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
