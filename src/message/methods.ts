/** Methods of RFC 3261 and the extensions sipwire implements. */
export const METHODS = Object.freeze([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'UPDATE',
  'INFO',
  'MESSAGE',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'PUBLISH',
] as const);

export type Method = (typeof METHODS)[number];

const KNOWN = new Set<string>(METHODS);

/** True for a method sipwire knows (method names are case-sensitive, RFC 3261 §7.1). */
export function isKnownMethod(m: string): m is Method {
  return KNOWN.has(m);
}
