// The fault-injecting VFS itself: it passes everything through while
// disarmed, fails exactly the N-th counted call (or every call from it on),
// with the kind's result code, and a store opened through it reports the
// failure as kInternal with SQLite's message.
#include "sandbox/store/faulty_vfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/store/store.h"

namespace vkspay::sandbox {
namespace {

constexpr int64_t kNow = 1'764'300'000;

class FaultyVfsTest : public ::testing::Test {
 protected:
  FaultyVfsTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("faulty_vfs_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    vfs_ = FaultyVfs::Register("faulty_vfs_test").value();
  }
  ~FaultyVfsTest() override {
    store_.reset();
    vfs_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    SqliteStoreOptions o;
    o.path = (dir_ / "t.db").string();
    o.vfs = vfs_->name();
    StatusOr<std::unique_ptr<Store>> s = OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  static Order NewOrder(const std::string& no) {
    Order o;
    o.merchantno = "10001";
    o.out_trade_no = no;
    o.trade_type = "webpay";
    o.total_fee = 100;
    o.notify_url = "http://127.0.0.1:9/n";
    o.cashier_token = "tok-" + no;
    o.expires_at = kNow + 7200;
    return o;
  }

  int64_t Orders() { return static_cast<int64_t>(store_->ListOrders({}).value().size()); }

  std::filesystem::path dir_;
  std::unique_ptr<FaultyVfs> vfs_;
  std::unique_ptr<Store> store_;
};

TEST_F(FaultyVfsTest, DisarmedItPassesEverythingThroughAndCountsNothing) {
  Open();
  ASSERT_TRUE(store_->CreateOrder(NewOrder("A"), true, kNow).ok());
  EXPECT_EQ(Orders(), 1);
  EXPECT_EQ(vfs_->calls(), 0);
}

TEST_F(FaultyVfsTest, ArmedBeyondTheLastCallItCountsWithoutFailing) {
  Open();
  vfs_->Arm({kVfsAllOps, 1'000'000, false, VfsFaultKind::kIoError});
  ASSERT_TRUE(store_->CreateOrder(NewOrder("A"), true, kNow).ok());
  vfs_->Disarm();
  EXPECT_GT(vfs_->calls(), 0);
  EXPECT_EQ(vfs_->failures(), 0);
}

TEST_F(FaultyVfsTest, TheFirstWriteFailingFailsTheTransactionAndNothingIsStored) {
  Open();
  vfs_->Arm({kVfsWrite, 1, false, VfsFaultKind::kIoError});
  StatusOr<CreateOrderResult> r = store_->CreateOrder(NewOrder("A"), true, kNow);
  vfs_->Disarm();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  EXPECT_NE(r.status().message().find("disk I/O error"), std::string::npos) << r.status().message();
  EXPECT_EQ(vfs_->failures(), 1);
  EXPECT_EQ(Orders(), 0);
  // The fault was transient: the same store works again.
  ASSERT_TRUE(store_->CreateOrder(NewOrder("A"), true, kNow).ok());
  EXPECT_EQ(Orders(), 1);
}

TEST_F(FaultyVfsTest, PersistentDiskFullFailsEveryWriteFromTheNthOn) {
  Open();
  vfs_->Arm({kVfsWrite | kVfsTruncate, 1, true, VfsFaultKind::kDiskFull});
  StatusOr<CreateOrderResult> a = store_->CreateOrder(NewOrder("A"), true, kNow);
  StatusOr<CreateOrderResult> b = store_->CreateOrder(NewOrder("B"), true, kNow);
  vfs_->Disarm();
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(a.status().message().find("database or disk is full"), std::string::npos)
      << a.status().message();
  EXPECT_GE(vfs_->failures(), 2);
  EXPECT_EQ(vfs_->failures(), vfs_->calls());
  EXPECT_EQ(Orders(), 0);
}

TEST_F(FaultyVfsTest, OnlyTheNthCallFails) {
  Open();
  std::vector<bool> failed;
  vfs_->SetTrace([&](unsigned, std::string_view, bool f) { failed.push_back(f); });
  vfs_->Arm({kVfsAllOps, 3, false, VfsFaultKind::kIoError});
  (void)store_->CreateOrder(NewOrder("A"), true, kNow);
  vfs_->Disarm();
  ASSERT_GE(failed.size(), 3u);
  for (size_t i = 0; i < failed.size(); ++i) EXPECT_EQ(failed[i], i == 2) << "call " << i + 1;
}

TEST_F(FaultyVfsTest, AStoreNamingAnUnknownVfsFailsToOpen) {
  SqliteStoreOptions o;
  o.path = (dir_ / "t.db").string();
  o.vfs = "no-such-vfs";
  StatusOr<std::unique_ptr<Store>> s = OpenSqliteStore(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInternal);
  EXPECT_NE(s.status().message().find("no-such-vfs"), std::string::npos) << s.status().message();
}

TEST_F(FaultyVfsTest, RegisteringTheSameNameTwiceIsRefused) {
  StatusOr<std::unique_ptr<FaultyVfs>> again = FaultyVfs::Register("faulty_vfs_test");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::sandbox
