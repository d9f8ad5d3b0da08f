export {
  MemoryLocationStore,
  MemoryUserStore,
} from './memory.js';
export {
  type OpenDatabaseOptions,
  openDatabase,
  openSqliteStores,
  SCHEMA_VERSION,
  type SqliteDatabase,
  SqliteLocationStore,
  type SqliteLocationStoreOptions,
  type SqliteStores,
  SqliteUserStore,
  type SqliteUserStoreOptions,
} from './sqlite.js';
export { type SweeperOptions, startSweeper } from './sweeper.js';
export type {
  Binding,
  BindingChange,
  Flow,
  HashAlgorithm,
  LocationStore,
  User,
  UserStore,
} from './types.js';
