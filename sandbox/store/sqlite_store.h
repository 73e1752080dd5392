// Private to the store: details of the SQLite implementation that its tests
// need. Everyone else opens a store through OpenSqliteStore (store.h).
#ifndef VKSPAY_SANDBOX_STORE_SQLITE_STORE_H_
#define VKSPAY_SANDBOX_STORE_SQLITE_STORE_H_

#include <span>
#include <string_view>

namespace vkspay::sandbox::internal {

// The schema migrations in the order they are applied; migration i (0-based)
// takes the database from PRAGMA user_version i to i + 1. Never edit or
// reorder an entry once released: append a new one instead.
std::span<const std::string_view> SqliteMigrations();

// The user_version of a fully migrated database.
inline int SqliteSchemaVersion() { return static_cast<int>(SqliteMigrations().size()); }

}  // namespace vkspay::sandbox::internal

#endif  // VKSPAY_SANDBOX_STORE_SQLITE_STORE_H_
