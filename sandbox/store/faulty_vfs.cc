// The shim: every sqlite3_file opened through the VFS is our FaultyFile
// header followed by the default VFS's own file object, and every method
// asks FaultyVfs::Decide before forwarding (or instead of forwarding).
#include "sandbox/store/faulty_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <utility>

namespace vkspay::sandbox {
namespace {

struct FaultyFile {
  sqlite3_file base;  // base.pMethods is kMethods
  FaultyVfs* owner;
  const char* name;    // valid until xClose (SQLite keeps it alive)
  sqlite3_file* real;  // the default VFS's file, right after this header
};

// The header rounded up so the real file that follows stays aligned.
constexpr size_t kHeaderSize = (sizeof(FaultyFile) + 15) & ~size_t{15};

FaultyFile* F(sqlite3_file* f) { return reinterpret_cast<FaultyFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return F(f)->real; }
const sqlite3_io_methods* RealMethods(sqlite3_file* f) { return Real(f)->pMethods; }
int Decide(sqlite3_file* f, unsigned op) { return F(f)->owner->Decide(op, F(f)->name); }

int Close(sqlite3_file* f) { return RealMethods(f)->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  if (int rc = Decide(f, kVfsRead); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xRead(Real(f), buf, amt, off);
}
int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  if (int rc = Decide(f, kVfsWrite); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xWrite(Real(f), buf, amt, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Decide(f, kVfsTruncate); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Decide(f, kVfsSync); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return RealMethods(f)->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) {
  if (int rc = Decide(f, kVfsLock); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xLock(Real(f), level);
}
int Unlock(sqlite3_file* f, int level) { return RealMethods(f)->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return RealMethods(f)->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return RealMethods(f)->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return RealMethods(f)->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return RealMethods(f)->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return RealMethods(f)->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if ((flags & SQLITE_SHM_LOCK) != 0) {
    if (int rc = Decide(f, kVfsShmLock); rc != SQLITE_OK) return rc;
  }
  return RealMethods(f)->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { RealMethods(f)->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return RealMethods(f)->xShmUnmap(Real(f), delete_flag);
}
// Never hands out memory-mapped pages, so every read goes through xRead.
int Fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  if (RealMethods(f)->iVersion < 3) return SQLITE_OK;
  return RealMethods(f)->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};
// The same for a file whose real methods lack the WAL (version 1) calls.
const sqlite3_io_methods kMethodsV1 = {
    1,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

struct VfsData {
  FaultyVfs* owner;
  sqlite3_vfs* real;
};
FaultyVfs* Owner(sqlite3_vfs* v) { return static_cast<VfsData*>(v->pAppData)->owner; }
sqlite3_vfs* RealVfs(sqlite3_vfs* v) { return static_cast<VfsData*>(v->pAppData)->real; }

int Open(sqlite3_vfs* v, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  FaultyFile* ff = F(file);
  ff->owner = Owner(v);
  ff->name = name != nullptr ? name : "(temp)";
  ff->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeaderSize);
  ff->real->pMethods = nullptr;
  const int rc = RealVfs(v)->xOpen(RealVfs(v), name, ff->real, flags, out_flags);
  // xClose is called whenever pMethods is set, even after a failed open.
  if (ff->real->pMethods == nullptr) {
    file->pMethods = nullptr;
  } else {
    file->pMethods = ff->real->pMethods->iVersion >= 2 ? &kMethods : &kMethodsV1;
  }
  return rc;
}
int Delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return RealVfs(v)->xDelete(RealVfs(v), name, sync_dir);
}
int Access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return RealVfs(v)->xAccess(RealVfs(v), name, flags, out);
}
int FullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return RealVfs(v)->xFullPathname(RealVfs(v), name, n, out);
}
void* DlOpen(sqlite3_vfs* v, const char* name) { return RealVfs(v)->xDlOpen(RealVfs(v), name); }
void DlError(sqlite3_vfs* v, int n, char* out) { RealVfs(v)->xDlError(RealVfs(v), n, out); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* sym))(void) {
  return RealVfs(v)->xDlSym(RealVfs(v), h, sym);
}
void DlClose(sqlite3_vfs* v, void* h) { RealVfs(v)->xDlClose(RealVfs(v), h); }
int Randomness(sqlite3_vfs* v, int n, char* out) {
  return RealVfs(v)->xRandomness(RealVfs(v), n, out);
}
int Sleep(sqlite3_vfs* v, int us) { return RealVfs(v)->xSleep(RealVfs(v), us); }
int CurrentTime(sqlite3_vfs* v, double* out) { return RealVfs(v)->xCurrentTime(RealVfs(v), out); }
int GetLastError(sqlite3_vfs* v, int n, char* out) {
  return RealVfs(v)->xGetLastError != nullptr ? RealVfs(v)->xGetLastError(RealVfs(v), n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  return RealVfs(v)->xCurrentTimeInt64(RealVfs(v), out);
}

int CodeFor(unsigned op, VfsFaultKind kind) {
  const bool write_like = op == kVfsWrite || op == kVfsTruncate;
  const bool lock_like = op == kVfsLock || op == kVfsShmLock;
  if (kind == VfsFaultKind::kDiskFull && write_like) return SQLITE_FULL;
  if (kind == VfsFaultKind::kBusy && lock_like) return SQLITE_BUSY;
  switch (op) {
    case kVfsRead:
      return SQLITE_IOERR_READ;
    case kVfsWrite:
      return SQLITE_IOERR_WRITE;
    case kVfsSync:
      return SQLITE_IOERR_FSYNC;
    case kVfsTruncate:
      return SQLITE_IOERR_TRUNCATE;
    case kVfsLock:
      return SQLITE_IOERR_LOCK;
    case kVfsShmLock:
      return SQLITE_IOERR_SHMLOCK;
    default:
      return SQLITE_IOERR;
  }
}

}  // namespace

std::string_view VfsOpName(unsigned op) {
  switch (op) {
    case kVfsRead:
      return "read";
    case kVfsWrite:
      return "write";
    case kVfsSync:
      return "sync";
    case kVfsTruncate:
      return "truncate";
    case kVfsLock:
      return "lock";
    case kVfsShmLock:
      return "shmlock";
    default:
      return "?";
  }
}

std::string_view ToString(VfsFaultKind kind) {
  switch (kind) {
    case VfsFaultKind::kIoError:
      return "ioerr";
    case VfsFaultKind::kDiskFull:
      return "full";
    case VfsFaultKind::kBusy:
      return "busy";
  }
  return "?";
}

StatusOr<std::unique_ptr<FaultyVfs>> FaultyVfs::Register(std::string name) {
  if (sqlite3_initialize() != SQLITE_OK) {
    return Status(ErrorCode::kInternal, "sqlite3_initialize failed");
  }
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr) return Status(ErrorCode::kInternal, "SQLite has no default VFS");
  if (sqlite3_vfs_find(name.c_str()) != nullptr) {
    return Status(ErrorCode::kInternal, "a SQLite VFS named \"" + name + "\" already exists");
  }
  std::unique_ptr<FaultyVfs> self(new FaultyVfs());
  self->name_ = std::move(name);
  auto* data = new VfsData{self.get(), real};
  auto vfs = std::make_unique<sqlite3_vfs>();
  *vfs = sqlite3_vfs{};
  vfs->iVersion = std::min(real->iVersion, 2);
  vfs->szOsFile = static_cast<int>(kHeaderSize) + real->szOsFile;
  vfs->mxPathname = real->mxPathname;
  vfs->zName = self->name_.c_str();
  vfs->pAppData = data;
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = DlOpen;
  vfs->xDlError = DlError;
  vfs->xDlSym = DlSym;
  vfs->xDlClose = DlClose;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  if (vfs->iVersion >= 2) vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(vfs.get(), /*makeDflt=*/0) != SQLITE_OK) {
    delete data;
    return Status(ErrorCode::kInternal, "sqlite3_vfs_register failed for " + self->name_);
  }
  self->vfs_ = std::move(vfs);
  return self;
}

FaultyVfs::~FaultyVfs() {
  if (vfs_ != nullptr) {
    sqlite3_vfs_unregister(vfs_.get());
    delete static_cast<VfsData*>(vfs_->pAppData);
  }
}

void FaultyVfs::Arm(const VfsFault& fault) {
  armed_.store(false);
  ops_.store(fault.ops);
  nth_.store(fault.nth);
  persistent_.store(fault.persistent);
  kind_.store(fault.kind);
  calls_.store(0);
  failures_.store(0);
  armed_.store(true);
}

void FaultyVfs::Disarm() { armed_.store(false); }

void FaultyVfs::SetTrace(std::function<void(unsigned, std::string_view, bool)> trace) {
  std::lock_guard<std::mutex> lock(trace_mu_);
  trace_ = std::move(trace);
}

int FaultyVfs::Decide(unsigned op, const char* file) {
  if (!armed_.load() || (ops_.load() & op) == 0) return SQLITE_OK;
  const int64_t n = ++calls_;
  const int64_t nth = nth_.load();
  const bool fail = n == nth || (persistent_.load() && n > nth);
  if (fail) ++failures_;
  {
    std::lock_guard<std::mutex> lock(trace_mu_);
    if (trace_) trace_(op, file, fail);
  }
  return fail ? CodeFor(op, kind_.load()) : SQLITE_OK;
}

}  // namespace vkspay::sandbox
