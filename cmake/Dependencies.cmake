# Every dependency is a Debian package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
# Debian ships cpp-httplib as a compiled library without a CMake config. Its
# pkg-config flags define the CPPHTTPLIB_*_SUPPORT macros that the compiled
# class layouts depend on, so they must come from here and nowhere else.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
if(VKSPAY_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(VKSPAY_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
