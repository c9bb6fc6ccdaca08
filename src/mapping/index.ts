export { loadMapping, loadMappings } from './load.js';
export { runMappingFixtures, type FixtureResult } from './fixtures.js';
export { defaultPolicy, defaultProfile, type LoadedMapping, type MappingPolicy } from './schema.js';
export type { CompiledMapping, MappedAccount, MappingContext, TargetProfile } from './types.js';
