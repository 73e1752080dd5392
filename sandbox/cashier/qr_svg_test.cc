#include "sandbox/cashier/qr_svg.h"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace vkspay::sandbox {
namespace {

constexpr char kUrl[] = "http://127.0.0.1:8080/pay/0123456789abcdef01234567";

struct Reference {
  int width = 0;
  int dark_modules = 0;
};

// Encodes with libqrencode directly, with the parameters QrSvg documents.
Reference Encode(const std::string& text) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  Reference ref;
  if (code == nullptr) return ref;
  ref.width = code->width;
  for (int i = 0; i < code->width * code->width; ++i) ref.dark_modules += code->data[i] & 1;
  return ref;
}

// Sums the run lengths of the path's "M x y h<run>v1h-<run>z" subpaths.
// (A hand-written scan: GCC 12's std::regex trips -Wmaybe-uninitialized
// under the sanitizers.)
int DarkModulesInPath(const std::string& svg) {
  int total = 0;
  for (size_t h = svg.find('h'); h != std::string::npos; h = svg.find('h', h + 1)) {
    size_t end = h + 1;
    while (end < svg.size() && svg[end] >= '0' && svg[end] <= '9') ++end;
    if (end == h + 1 || svg.compare(end, 4, "v1h-") != 0) continue;
    total += std::atoi(svg.substr(h + 1, end - h - 1).c_str());
  }
  return total;
}

TEST(QrSvg, IsOneSvgElementWithOnePathAndCrispEdges) {
  const std::string svg = QrSvg(kUrl);
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  EXPECT_NE(svg.find("shape-rendering=\"crispEdges\""), std::string::npos);
  const size_t first_path = svg.find("<path");
  ASSERT_NE(first_path, std::string::npos);
  EXPECT_EQ(svg.find("<path", first_path + 1), std::string::npos);
}

TEST(QrSvg, ViewBoxIsQrWidthPlusQuietZone) {
  const Reference ref = Encode(kUrl);
  ASSERT_GT(ref.width, 0);
  const std::string n = std::to_string(ref.width + 2 * kQrQuietZone);
  EXPECT_NE(QrSvg(kUrl).find("viewBox=\"0 0 " + n + " " + n + "\""), std::string::npos);
}

TEST(QrSvg, PathCoversExactlyTheDarkModules) {
  const Reference ref = Encode(kUrl);
  ASSERT_GT(ref.dark_modules, 0);
  EXPECT_EQ(DarkModulesInPath(QrSvg(kUrl)), ref.dark_modules);
}

TEST(QrSvg, FirstModuleSitsInsideTheQuietZone) {
  // The top-left finder pattern starts at module (0,0): a 7-module run at (4,4).
  EXPECT_NE(QrSvg(kUrl).find("d=\"M4 4h7v1h-7z"), std::string::npos);
}

TEST(QrSvg, SameInputGivesSameOutput) { EXPECT_EQ(QrSvg(kUrl), QrSvg(kUrl)); }

TEST(QrSvg, IsCaseSensitive) {
  EXPECT_NE(QrSvg("http://h/pay/abcdef"), QrSvg("http://h/pay/ABCDEF"));
}

TEST(QrSvg, EmptyTextGivesEmpty) { EXPECT_EQ(QrSvg(""), ""); }

TEST(QrSvg, TextWithNulGivesEmpty) { EXPECT_EQ(QrSvg(std::string_view("ab\0cd", 5)), ""); }

TEST(QrSvg, TextTooLongForVersion40GivesEmpty) { EXPECT_EQ(QrSvg(std::string(3000, 'x')), ""); }

}  // namespace
}  // namespace vkspay::sandbox
