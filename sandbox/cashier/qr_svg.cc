#include "sandbox/cashier/qr_svg.h"

#include <qrencode.h>

#include <memory>

namespace vkspay::sandbox {
namespace {

struct QrcodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

std::string QrSvg(std::string_view text) {
  if (text.empty() || text.find('\0') != std::string_view::npos) return "";
  const std::string c_text(text);
  std::unique_ptr<QRcode, QrcodeDeleter> code(QRcode_encodeString(c_text.c_str(), /*version=*/0,
                                                                  QR_ECLEVEL_M, QR_MODE_8,
                                                                  /*casesensitive=*/1));
  if (code == nullptr || code->width <= 0) return "";

  const int width = code->width;
  const std::string size = std::to_string(width + 2 * kQrQuietZone);
  std::string svg;
  svg.reserve(static_cast<size_t>(width) * static_cast<size_t>(width) + 256);
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + size + " " + size +
         "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">";
  svg += "<rect width=\"" + size + "\" height=\"" + size + "\" fill=\"#fff\"/>";
  svg += "<path fill=\"#000\" d=\"";
  // Bit 0 of each byte is the module's colour (1 = dark); the other bits are
  // libqrencode's bookkeeping. One subpath per horizontal run of dark modules.
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = code->data + static_cast<size_t>(y) * static_cast<size_t>(width);
    int x = 0;
    while (x < width) {
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (row[x + run] & 1) != 0) ++run;
      svg += "M" + std::to_string(x + kQrQuietZone) + " " + std::to_string(y + kQrQuietZone) + "h" +
             std::to_string(run) + "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  svg += "\"/></svg>";
  return svg;
}

}  // namespace vkspay::sandbox
