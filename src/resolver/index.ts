export { type ResolvedTarget, SipResolver, type SipResolverOptions } from './resolver.js';
