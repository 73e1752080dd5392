// ElasticThreadPool: growth on demand, the wanted_fd signal a staying worker
// polls, and Shutdown. The front itself is tested end to end against a real
// SandboxServer in hostile_front_test.cc.
#include "sandbox/server/http_front.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace vkspay::sandbox {
namespace {

using std::chrono::milliseconds;

bool Readable(int fd) {
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

template <typename F>
bool Eventually(F done, milliseconds limit = milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return done();
}

// A gate jobs wait at until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(ElasticThreadPool, WantedFdIsReadableOnlyWhileAJobFindsNoIdleThread) {
  ElasticThreadPool pool(1, 1);
  ASSERT_GE(pool.wanted_fd(), 0);
  Gate gate;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.TryEnqueue([&] {
    gate.Wait();
    ++ran;
  }));
  ASSERT_TRUE(Eventually([&] { return !pool.Waiting(); }));  // the one thread took it
  EXPECT_FALSE(Readable(pool.wanted_fd()));
  ASSERT_TRUE(pool.TryEnqueue([&] { ++ran; }));  // no idle thread for this one
  EXPECT_TRUE(pool.Waiting());
  EXPECT_TRUE(Readable(pool.wanted_fd()));
  gate.Open();
  ASSERT_TRUE(Eventually([&] { return ran == 2; }));
  EXPECT_FALSE(pool.Waiting());
  EXPECT_FALSE(Readable(pool.wanted_fd()));  // cleared when the queue emptied
  EXPECT_EQ(pool.peak_threads(), 1u);      // max 1: never grew
}

TEST(ElasticThreadPool, GrowsWhileJobsWaitBehindBusyThreadsUpToMax) {
  ElasticThreadPool pool(1, 3, milliseconds(2));
  Gate gate;
  std::atomic<int> running{0};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.TryEnqueue([&] {
      ++running;
      gate.Wait();
    }));
  }
  // The owner calls Grow() while jobs wait (the reactor does, every 1 ms).
  EXPECT_TRUE(Eventually([&] {
    pool.Grow();
    return running == 3;
  }));
  std::this_thread::sleep_for(milliseconds(20));
  pool.Grow();
  EXPECT_EQ(running, 3);  // max 3
  EXPECT_EQ(pool.threads(), 3u);
  EXPECT_TRUE(pool.Waiting());
  gate.Open();
  EXPECT_TRUE(Eventually([&] { return running == 5 && !pool.Waiting(); }));
  EXPECT_EQ(pool.peak_threads(), 3u);
}

TEST(ElasticThreadPool, ShutdownRunsWhatIsQueuedThenRefuses) {
  std::atomic<int> ran{0};
  ElasticThreadPool pool(1, 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.TryEnqueue([&] { ++ran; }));
  pool.Shutdown();
  EXPECT_EQ(ran, 10);
  EXPECT_EQ(pool.threads(), 0u);
  EXPECT_FALSE(pool.TryEnqueue([&] { ++ran; }));
  EXPECT_EQ(ran, 10);
}

}  // namespace
}  // namespace vkspay::sandbox
