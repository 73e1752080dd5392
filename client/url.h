// Private to vkspay_client: URL splitting shared by the client and the
// listener's forward-to.
#ifndef VKSPAY_CLIENT_URL_H_
#define VKSPAY_CLIENT_URL_H_

#include <string>
#include <string_view>

namespace vkspay::client::internal {

// Splits an http(s) URL into origin ("http://host:port") and the rest
// ("/path?q", "" when absent). False for another scheme, an empty host, or a
// host part holding '?', '#', '@' or a space.
bool SplitHttpUrl(std::string_view url, std::string& origin, std::string& path);

}  // namespace vkspay::client::internal

#endif  // VKSPAY_CLIENT_URL_H_
