// vkspay-conformance: flags and reports live in the library (cli.cc).
#include <iostream>

#include "vkspay/conformance/cli.h"
#include "vkspay/version.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << vkspay::VersionLine("vkspay-conformance") << "\n";
    return 0;
  }
  return vkspay::conformance::RunConformanceCli(argc, argv, std::cout, std::cerr);
}
