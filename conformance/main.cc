// vkspay-conformance: flags and reports live in the library (cli.cc).
#include <iostream>

#include "vkspay/conformance/cli.h"

int main(int argc, char** argv) {
  return vkspay::conformance::RunConformanceCli(argc, argv, std::cout, std::cerr);
}
