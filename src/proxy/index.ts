export { chooseBest, finishBest } from './best-response.js';
export { hasLooped, loopTag } from './loop.js';
export { Branch, type ForwardOptions, ProxyCore, type ProxyOptions, ResponseContext } from './proxy.js';
export { type IsOurUri, isOurRecordRoute, preprocessRoute, type RoutePreprocessing } from './route.js';
export { forkGroups, type ProxyTarget } from './target.js';
