export {
  type DnsAnswer,
  DnsClient,
  type DnsClientOptions,
  DnsError,
  type DnsType,
  type NaptrData,
  type SrvData,
} from './dns-client.js';
export { type ResolvedTarget, SipResolver, type SipResolverOptions } from './resolver.js';
