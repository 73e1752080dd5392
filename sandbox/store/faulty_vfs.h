// A SQLite VFS for tests that wraps the default one and makes chosen I/O
// calls fail: the N-th counted call (transient) or every counted call from
// the N-th on (persistent), with an I/O error, "disk full" or "busy". It is
// how the atomicity tests show that every store call fully happens or fully
// does not, whichever read, write, sync or lock fails (the fault-injecting
// Env of leveldb, for SQLite).
//
// A store opens through it with SqliteStoreOptions::vfs = vfs.name(). The
// VFS counts nothing until Arm() and again after Disarm(), so opening and
// migrating are not counted.
//
// Thread-safe: Arm/Disarm and the counters are atomics; SQLite may call the
// VFS from any thread. Register once per name; the object must outlive every
// connection opened through it.
#ifndef VKSPAY_SANDBOX_STORE_FAULTY_VFS_H_
#define VKSPAY_SANDBOX_STORE_FAULTY_VFS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "vkspay/protocol/status.h"

struct sqlite3_vfs;

namespace vkspay::sandbox {

// The calls that can be counted and failed (a bit mask).
enum VfsOp : unsigned {
  kVfsRead = 1u << 0,      // xRead
  kVfsWrite = 1u << 1,     // xWrite
  kVfsSync = 1u << 2,      // xSync
  kVfsTruncate = 1u << 3,  // xTruncate
  kVfsLock = 1u << 4,      // xLock (taking a lock; xUnlock never fails)
  kVfsShmLock = 1u << 5,   // xShmLock when taking a WAL lock
  kVfsAllOps = (1u << 6) - 1,
};
// "read", "write", ... for one bit; "?" otherwise.
std::string_view VfsOpName(unsigned op);

// What a failed call returns.
enum class VfsFaultKind {
  kIoError,   // SQLITE_IOERR_READ / _WRITE / _FSYNC / _TRUNCATE / _LOCK / _SHMLOCK
  kDiskFull,  // SQLITE_FULL (a write or a truncate; other calls: SQLITE_IOERR_*)
  kBusy,      // SQLITE_BUSY (a lock; other calls: SQLITE_IOERR_*)
};
std::string_view ToString(VfsFaultKind kind);

struct VfsFault {
  unsigned ops = kVfsAllOps;  // which calls count
  int64_t nth = 1;            // the first counted call that fails (1-based)
  bool persistent = false;    // also fail every counted call after it
  VfsFaultKind kind = VfsFaultKind::kIoError;
};

class FaultyVfs {
 public:
  // Registers a VFS called `name` that forwards to the default VFS (not made
  // the default). Errors: kInternal if there is no default VFS or the name
  // is taken.
  static StatusOr<std::unique_ptr<FaultyVfs>> Register(std::string name);
  // Unregisters. Every connection opened through it must be closed first.
  ~FaultyVfs();
  FaultyVfs(const FaultyVfs&) = delete;
  FaultyVfs& operator=(const FaultyVfs&) = delete;

  const std::string& name() const { return name_; }

  // Starts counting the calls in fault.ops from zero and failing as told.
  void Arm(const VfsFault& fault);
  // Stops counting and failing; the counters keep their values.
  void Disarm();
  // Counted calls and injected failures since the last Arm().
  int64_t calls() const { return calls_.load(); }
  int64_t failures() const { return failures_.load(); }

  // Called for every counted call while armed with the op, the file name and
  // whether it failed (for finding out which calls a store operation makes).
  // Set it while disarmed.
  void SetTrace(std::function<void(unsigned op, std::string_view file, bool failed)> trace);

  // Internal, for the C callbacks: the SQLite result for a call of `op` on
  // `file`, SQLITE_OK to let it through.
  int Decide(unsigned op, const char* file);

 private:
  FaultyVfs() = default;

  std::string name_;
  std::unique_ptr<sqlite3_vfs> vfs_;
  std::atomic<bool> armed_{false};
  std::atomic<unsigned> ops_{0};
  std::atomic<int64_t> nth_{0};
  std::atomic<bool> persistent_{false};
  std::atomic<VfsFaultKind> kind_{VfsFaultKind::kIoError};
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> failures_{0};
  std::mutex trace_mu_;
  std::function<void(unsigned, std::string_view, bool)> trace_;  // guarded by trace_mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_STORE_FAULTY_VFS_H_
