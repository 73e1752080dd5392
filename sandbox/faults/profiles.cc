#include "sandbox/faults/profiles.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vkspay::sandbox {
namespace {

using Json = nlohmann::json;

constexpr char kRealisticJson[] = R"({
  "description": "every notification twice within one second; 2% of API answers 200-800 ms slow",
  "rules": [
    {"id": "realistic.notify-duplicate",
     "action": {"kind": "notify.duplicate", "params": {"copies": 2, "within_ms": 1000}}},
    {"id": "realistic.slow-answer",
     "action": {"kind": "api.delay", "params": {"ms": 200, "max_ms": 800}},
     "probability": 0.02, "seed": 20240601}
  ]
})";

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

}  // namespace

std::string DefaultFaultsDir() {
  // An installed binary (cmake --install, the .deb, or the .deb unpacked
  // anywhere with dpkg-deb -x) finds the files beside it; a binary in the
  // build tree finds the source tree's.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path installed =
        exe.parent_path().parent_path() / "share" / "vkspay-sandbox" / "faults";
    if (std::filesystem::is_directory(installed, ec)) return installed.string();
  }
  return VKSPAY_DEFAULT_FAULTS_DIR;
}

std::vector<std::string> BuiltinProfileNames() { return {"strict", "realistic"}; }

StatusOr<FaultProfile> ParseProfile(std::string_view name, std::string_view json_text) {
  const std::string path(name);
  Json j = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kInvalidJson, path + ": expected a JSON object");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "description" && key != "rules" && key != "$comment") {
      return Status(ErrorCode::kInvalidField,
                    path + "." + key + ": unknown key; expected description or rules");
    }
  }
  FaultProfile profile;
  profile.name = path;
  if (auto it = j.find("description"); it != j.end()) {
    if (!it->is_string()) {
      return Status(ErrorCode::kInvalidField, path + ".description: expected a string");
    }
    profile.description = it->get<std::string>();
  }
  auto rules = j.find("rules");
  if (rules == j.end() || !rules->is_array()) {
    return Status(ErrorCode::kInvalidField, path + ".rules: expected a list of rules");
  }
  for (size_t i = 0; i < rules->size(); ++i) {
    const std::string p = path + ".rules[" + std::to_string(i) + "]";
    StatusOr<FaultRule> rule = ParseRuleJson(p, (*rules)[i]);
    if (!rule.ok()) return rule.status();
    if (rule->id.empty()) rule->id = path + "." + std::to_string(i);
    for (const FaultRule& earlier : profile.rules) {
      if (earlier.id == rule->id) {
        return Status(ErrorCode::kInvalidField, p + ".id: duplicate id \"" + rule->id + "\"");
      }
    }
    profile.rules.push_back(*rule);
  }
  return profile;
}

StatusOr<FaultProfile> LoadProfile(std::string_view name, const std::string& profiles_dir) {
  if (!ValidName(name)) {
    return Status(ErrorCode::kInvalidField,
                  "profile: expected 1-64 of a-z 0-9 - _, got \"" + std::string(name) + "\"");
  }
  if (name == "strict") {
    FaultProfile p;
    p.name = "strict";
    p.description = "no injected failures";
    return p;
  }
  if (name == "realistic") return ParseProfile("realistic", kRealisticJson);
  if (!profiles_dir.empty()) {
    const std::filesystem::path file =
        std::filesystem::path(profiles_dir) / (std::string(name) + ".json");
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      return ParseProfile(name, ss.str());
    }
  }
  std::string known;
  for (const std::string& n : ListProfiles(profiles_dir)) known += (known.empty() ? "" : ", ") + n;
  return Status(ErrorCode::kNotFound,
                "profile: no profile named \"" + std::string(name) + "\"; known: " + known);
}

std::vector<std::string> ListProfiles(const std::string& profiles_dir) {
  std::vector<std::string> names = BuiltinProfileNames();
  std::vector<std::string> files;
  std::error_code ec;
  if (!profiles_dir.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(profiles_dir, ec)) {
      const std::filesystem::path& p = entry.path();
      if (p.extension() != ".json") continue;
      const std::string stem = p.stem().string();
      if (!ValidName(stem) || stem == "strict" || stem == "realistic") continue;
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ParseProfile(stem, ss.str()).ok()) files.push_back(stem);
    }
  }
  std::sort(files.begin(), files.end());
  names.insert(names.end(), files.begin(), files.end());
  return names;
}

}  // namespace vkspay::sandbox
