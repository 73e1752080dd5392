#include <algorithm>
#include <string_view>

#include "nlohmann/json.hpp"
#include "vkspay/conformance/signer.h"

namespace vkspay::conformance {
namespace internal {
extern const std::string_view kSigningVectorsJson;
}  // namespace internal

const std::vector<SigningVector>& SigningVectors() {
  static const std::vector<SigningVector> vectors = [] {
    std::vector<SigningVector> out;
    nlohmann::json j =
        nlohmann::json::parse(internal::kSigningVectorsJson, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array()) return out;
    for (const nlohmann::json& v : j) {
      if (!v.is_object()) continue;
      SigningVector s;
      s.name = v.value("name", "");
      s.key = v.value("key", "");
      s.body = v.value("body", "");
      s.canonical = v.value("canonical", "");
      s.sign = v.value("sign", "");
      out.push_back(std::move(s));
    }
    return out;
  }();
  return vectors;
}

std::vector<std::pair<std::string, std::string>> VectorPairs(const SigningVector& v) {
  nlohmann::json body = nlohmann::json::parse(v.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return {};
  std::vector<std::string> names;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "sign") names.push_back(it.key());
  }
  std::sort(names.begin(), names.end());
  const std::string suffix = "&key=" + v.key;
  if (v.canonical.size() < suffix.size() ||
      v.canonical.compare(v.canonical.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return {};
  }
  const std::string_view text(v.canonical.data(), v.canonical.size() - suffix.size());
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t pos = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string head = names[i] + "=";
    if (text.substr(pos, head.size()) != head) return {};
    const size_t start = pos + head.size();
    size_t end = text.size();
    if (i + 1 < names.size()) {
      end = text.find("&" + names[i + 1] + "=", start);
      if (end == std::string_view::npos) return {};
    }
    pairs.emplace_back(names[i], std::string(text.substr(start, end - start)));
    pos = end + 1;
  }
  return pairs;
}

std::string VectorMembers(const SigningVector& v) {
  const size_t open = v.body.find('{');
  const size_t close = v.body.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close <= open) return "";
  return v.body.substr(open + 1, close - open - 1);
}

}  // namespace vkspay::conformance
