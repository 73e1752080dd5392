#include <iostream>

#include "cli.h"

int main(int argc, char** argv) { return vkspay::client::RunCli(argc, argv, std::cout, std::cerr); }
