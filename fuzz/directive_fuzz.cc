// Per-request fault directives (sandbox/faults/directive.h): the attach
// field and the X-Sandbox-Fault header. Input: the directive text.
// Properties: an attach without the "sandbox:" prefix is never an error and
// never a fault; every accepted fault is valid and DirectiveText of it parses
// back to the same fault (the header's contract); an error names the column.
#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"
#include "sandbox/faults/directive.h"

using namespace vkspay;
using namespace vkspay::sandbox;

namespace {

void Check(const StatusOr<std::vector<Fault>>& parsed, std::string_view text) {
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == ErrorCode::kInvalidField, parsed.status().ToString());
    FUZZ_CHECK(parsed.status().message().find("column") != std::string::npos,
               parsed.status().message());
    return;
  }
  for (const Fault& fault : *parsed) {
    FUZZ_CHECK(ValidateFault("directive", fault).ok(), std::string(text));
    const std::string again_text = DirectiveText(fault);
    StatusOr<std::vector<Fault>> again = ParseHeaderDirective(again_text);
    FUZZ_CHECK(again.ok(),
               std::string(text) + " -> " + again_text + ": " + again.status().ToString());
    FUZZ_CHECK(again->size() == 1 && again->front() == fault,
               std::string(text) + " -> " + again_text + " gives another fault");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  // Found here: a refused argument that is not UTF-8 threw type_error 316
  // from dump() in Quote(); it now answers INVALID_FIELD like any other.
  // Corpus: invalid_utf8_err_code_throws.txt.
  StatusOr<std::vector<Fault>> attach = ParseAttachDirective(text);
  if (text.substr(0, 8) != kDirectivePrefix) {
    FUZZ_CHECK(attach.ok() && attach->empty(), "ordinary attach treated as a directive");
  }
  Check(attach, text);
  Check(ParseHeaderDirective(text), text);
  return 0;
}
