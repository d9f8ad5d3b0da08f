/**
 * Size and count limits applied while reading a message. Every limit is on
 * by default; exceeding one raises a SipParseError with its own code.
 */
export interface ParseLimits {
  /** Largest message accepted, start line to end of body, in bytes (exceeded: 513, RFC 3261 §21.5.7). */
  maxMessageSize: number;
  /** Largest header section, in bytes (exceeded: 513). */
  maxHeaderSectionSize: number;
  /** Most header fields (lines, after unfolding) in one message (exceeded: 513). */
  maxHeaders: number;
  /** Longest header field, name to end of value including folded lines, in bytes (exceeded: 513). */
  maxHeaderLineLength: number;
  /** Most Via values in one message (exceeded: 400). */
  maxVias: number;
  /** Largest body, in bytes (exceeded: 413, RFC 3261 §21.4.11). */
  maxBodySize: number;
}

export const DEFAULT_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxMessageSize: 65535,
  maxHeaderSectionSize: 32768,
  maxHeaders: 256,
  maxHeaderLineLength: 8192,
  maxVias: 64,
  maxBodySize: 65535,
});

/** Limit sets already checked and completed, handed back as they are. */
const RESOLVED = new WeakSet<object>([DEFAULT_LIMITS]);

export function resolveLimits(partial: Partial<ParseLimits> | undefined): Readonly<ParseLimits> {
  if (partial === undefined) return DEFAULT_LIMITS;
  if (RESOLVED.has(partial)) return partial as Readonly<ParseLimits>;
  const out = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`limit ${k} must be a positive integer, got ${v}`);
  }
  const frozen = Object.freeze(out);
  RESOLVED.add(frozen);
  return frozen;
}
