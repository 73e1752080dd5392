// Runs each installed binary (vkspay, vkspay-sandbox, vkspay-conformance,
// vkspay-bench when built) as a process: --version prints the version line
// with the commit and build type and exits 0, --help exits 0, and an unknown
// flag exits 2 naming the flag. Regression for issue #14: the sandbox and the
// bench exited 109 (CLI11's code) on an unknown flag, and none had --version.
#include "vkspay/version.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern char** environ;

namespace vkspay {
namespace {

struct Binary {
  std::string name;
  std::string path;
};

void PrintTo(const Binary& b, std::ostream* os) { *os << b.name; }

// VKSPAY_VERSION_TEST_BINARIES is "name=path,name=path,...".
std::vector<Binary> Binaries() {
  std::vector<Binary> bins;
  std::string list = VKSPAY_VERSION_TEST_BINARIES;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string item = list.substr(start, end - start);
    const size_t eq = item.find('=');
    bins.push_back({item.substr(0, eq), item.substr(eq + 1)});
    start = end + 1;
  }
  return bins;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `path arg` to completion with stdout and stderr captured in files.
RunResult RunBinary(const std::string& path, const std::string& arg) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vkspay-version-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  RunResult r;
  const char* dir = mkdtemp(buf.data());
  if (dir == nullptr) return r;
  const std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv = {const_cast<char*>(path.c_str()), const_cast<char*>(arg.c_str()),
                             nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

class BinaryFlags : public ::testing::TestWithParam<Binary> {};

TEST_P(BinaryFlags, VersionPrintsVersionCommitAndBuildTypeAndExitsZero) {
  const RunResult r = RunBinary(GetParam().path, "--version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, VersionLine(GetParam().name) + "\n");
  EXPECT_NE(r.out.find(std::string("commit ") + std::string(kGitCommit)), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(std::string(kBuildType)), std::string::npos) << r.out;
}

TEST_P(BinaryFlags, HelpExitsZero) {
  const RunResult r = RunBinary(GetParam().path, "--help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--help"), std::string::npos) << r.out;
}

// Binaries that need a subcommand may complain about that first (CLI11
// checks it before unknown flags); either way the error is on stderr.
TEST_P(BinaryFlags, UnknownFlagExitsTwoWithAnError) {
  const RunResult r = RunBinary(GetParam().path, "--no-such-flag");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_FALSE(r.err.empty());
}

INSTANTIATE_TEST_SUITE_P(AllBinaries, BinaryFlags, ::testing::ValuesIn(Binaries()),
                         [](const ::testing::TestParamInfo<Binary>& param_info) {
                           std::string n;
                           for (char c : param_info.param.name) n += std::isalnum(c) ? c : '_';
                           return n;
                         });

// The commit is a short hash from `git rev-parse --short HEAD`, or "unknown"
// outside a git checkout; never empty or with a trailing newline.
TEST(VersionHeader, CommitIsShortHexOrUnknown) {
  const std::string commit(kGitCommit);
  if (commit == "unknown") return;
  ASSERT_GE(commit.size(), 7u) << commit;
  for (char c : commit) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << commit;
}

}  // namespace
}  // namespace vkspay
