// The vkspay-conformance command line, as a function so tests can run it
// in-process. Exit codes: 0 no case failed (warnings and skips allowed),
// 1 at least one case failed, 2 bad command line, a report that could not
// be written, a server (control API, notify handler) that does not answer
// (within --wait), or an --order the state URL shows is not unpaid; 3 merchant
// mode with cases skipped for want of --order (unless --allow-skip); 130/143
// interrupted by SIGINT/SIGTERM after the sandbox clock was put back.
#ifndef VKSPAY_CONFORMANCE_CLI_H_
#define VKSPAY_CONFORMANCE_CLI_H_

#include <ostream>

namespace vkspay::conformance {

int RunConformanceCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_CLI_H_
