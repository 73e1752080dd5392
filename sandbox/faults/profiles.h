// Fault profiles: named sets of rules that describe a whole environment.
//
//   strict      no injected failures (the default)
//   realistic   every notification is delivered twice within one second (as
//               the real VksPay warns it does), and 2% of API answers are
//               200-800 ms slow (seeded, so reproducible)
//   <name>      a scenario file <profiles_dir>/<name>.json, e.g.
//               fixtures/faults/flaky-network.json:
//                 {"description": "...", "rules": [<rule>, ...]}
//
// Rule ids in a profile default to "<profile>.<index>". Profile rules fire
// with source "profile" in the record. Values; thread-compatible.
#ifndef VKSPAY_SANDBOX_FAULTS_PROFILES_H_
#define VKSPAY_SANDBOX_FAULTS_PROFILES_H_

#include <string>
#include <string_view>
#include <vector>

#include "sandbox/faults/rule.h"

namespace vkspay::sandbox {

struct FaultProfile {
  std::string name;
  std::string description;
  std::vector<FaultRule> rules;
};

// Where scenario files and magic_amounts.json are when main is given no
// --faults-dir: <prefix>/share/vkspay-sandbox/faults beside an installed
// binary (<prefix>/bin/vkspay-sandbox), else fixtures/faults of the source tree.
std::string DefaultFaultsDir();

// The names compiled in: "strict" and "realistic".
std::vector<std::string> BuiltinProfileNames();

// Parses a scenario file's text; `name` prefixes error paths
// ("flaky-network.rules[1].action.kind: ..."). Errors: kInvalidJson; kInvalidField
// for unknown keys, a missing rules list, bad rules, duplicate ids.
StatusOr<FaultProfile> ParseProfile(std::string_view name, std::string_view json_text);

// A built-in profile, or <profiles_dir>/<name>.json (profiles_dir may be empty:
// built-ins only). Names are 1-64 of a-z 0-9 - _ (so a name can never leave
// the directory). Errors: kInvalidField for a bad name, kNotFound naming the
// known profiles, and those of ParseProfile.
StatusOr<FaultProfile> LoadProfile(std::string_view name, const std::string& profiles_dir);

// The names LoadProfile accepts: the built-ins, then every *.json in
// profiles_dir that parses as a profile, sorted.
std::vector<std::string> ListProfiles(const std::string& profiles_dir);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_PROFILES_H_
