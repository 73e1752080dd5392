// The `vkspay` command line, as a function so tests can run it in-process.
// main.cc only forwards to RunCli.
#ifndef VKSPAY_CLIENT_CLI_CLI_H_
#define VKSPAY_CLIENT_CLI_CLI_H_

#include <ostream>

namespace vkspay::client {

// Exit codes (documented in `vkspay --help` and the README).
inline constexpr int kExitOk = 0;
// VksPay answered FAIL (or the control API refused), or its answer was not
// understood. stderr has one line "vkspay: <ERR_CODE>: <message>".
inline constexpr int kExitFailed = 1;
// Bad command line, or an argument that fails local validation (an amount).
inline constexpr int kExitUsage = 2;
// `query`: the order exists but is not paid (status on stdout).
inline constexpr int kExitNotPaid = 3;
// The server could not be reached or dropped the connection (CONNECT_ERROR).
inline constexpr int kExitConnect = 4;
// No answer within --timeout (TIMEOUT).
inline constexpr int kExitTimeout = 5;

// Parses argv (argv[0] is the program name), runs the subcommand, writes
// results to `out` and errors to `err`, and returns the exit code. Reads the
// VKSPAY_* environment variables for defaults. Never throws.
int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace vkspay::client

#endif  // VKSPAY_CLIENT_CLI_CLI_H_
