// Renders text as a QR code in an inline SVG, for the cashier page.
#ifndef VKSPAY_SANDBOX_CASHIER_QR_SVG_H_
#define VKSPAY_SANDBOX_CASHIER_QR_SVG_H_

#include <string>
#include <string_view>

namespace vkspay::sandbox {

// Width, in modules, of the light border around the symbol (the QR standard's
// minimum quiet zone).
inline constexpr int kQrQuietZone = 4;

// Encodes `text` with libqrencode (error correction M, 8-bit mode, case
// sensitive, smallest version that fits) and returns a compact <svg> element:
// the viewBox is in modules ("0 0 N N", N = symbol width + 2 * kQrQuietZone),
// a white background <rect>, and one black <path> holding every dark module
// (horizontal runs merged), with shape-rendering="crispEdges". The element has
// no width or height, so CSS sizes it. Suitable for inlining in HTML; the text
// itself does not appear in the output.
//
// Returns an empty string on failure: `text` is empty, contains a NUL byte
// (libqrencode takes a C string), or is too long for a version 40 symbol at
// level M (about 2,300 bytes), or libqrencode ran out of memory.
//
// Thread-safe (libqrencode is reentrant when built with pthreads, as Debian's is).
std::string QrSvg(std::string_view text);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CASHIER_QR_SVG_H_
