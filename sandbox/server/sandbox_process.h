// Test support: the real vkspay-sandbox binary (VKSPAY_SANDBOX_BIN) started
// as a child process, for tests that must see what main wires (the ready
// line, flags, the CSPRNG, the own-address guard). Not thread-safe; one
// test thread owns each SandboxProcess.
#ifndef VKSPAY_SANDBOX_SERVER_SANDBOX_PROCESS_H_
#define VKSPAY_SANDBOX_SERVER_SANDBOX_PROCESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vkspay::testing_process {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The text between `before` and the next `until` (or the line end); "" when
// `before` is absent.
inline std::string TextAfter(const std::string& text, const std::string& before,
                             const std::string& until) {
  size_t at = text.find(before);
  if (at == std::string::npos) return "";
  at += before.size();
  size_t end = std::min(text.find(until, at), text.find('\n', at));
  return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// A fresh directory under the system's temp directory.
inline std::filesystem::path TempDir(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      (name + "-" + std::to_string(::getpid()) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  return dir;
}

// vkspay-sandbox started with `args`, stdout and stderr to files in `dir`;
// the constructor waits (up to 10 s) for the ready line and reads the port
// from it (port() stays 0 if it never came). Stopped with SIGTERM (by its
// PID) when destroyed.
class SandboxProcess {
 public:
  SandboxProcess(const std::filesystem::path& dir, std::vector<std::string> args) : dir_(dir) {
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* out = std::freopen((dir / "stdout.txt").c_str(), "w", stdout);
      FILE* err = std::freopen((dir / "stderr.txt").c_str(), "w", stderr);
      if (out == nullptr || err == nullptr) ::_exit(126);
      std::vector<char*> argv;
      std::string bin = VKSPAY_SANDBOX_BIN;
      argv.push_back(bin.data());
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    // The ready line names the port: "listening on http://HOST:PORT (db".
    // (No std::regex: g++ 12 warns inside it under ASan with -O2.)
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      std::string port = TextAfter(stdout_text(), "listening on http://", " ");
      if (size_t colon = port.rfind(':'); colon != std::string::npos) {
        port_ = std::atoi(port.c_str() + colon + 1);
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~SandboxProcess() { Stop(); }
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  int port() const { return port_; }
  std::string stdout_text() const { return ReadFile(dir_ / "stdout.txt"); }
  std::string stderr_text() const { return ReadFile(dir_ / "stderr.txt"); }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace vkspay::testing_process

#endif  // VKSPAY_SANDBOX_SERVER_SANDBOX_PROCESS_H_
