# What `cmake --install` puts where, and the Debian package CPack builds from
# the same rules (`cpack -G DEB` in the build directory, or
# `cmake --build build --target package`):
#
#   bin/                 vkspay-sandbox, vkspay, vkspay-conformance, vkspay-bench,
#                        vkspay-reference-handler
#   lib/vkspay-sandbox/  protocol_bench (run by `vkspay-bench micro`/`all`)
#   share/vkspay-sandbox/faults/   scenario files and magic_amounts.json (the
#                        sandbox's default --faults-dir when installed)
#   share/vkspay-sandbox/config/   sample configuration (two merchants)
#   share/doc/vkspay-sandbox/      README.md and docs/*.md
#   share/bash-completion/completions/vkspay
#
# Every binary finds its files relative to itself, so the package also works
# unpacked anywhere (`dpkg-deb -x vkspay-sandbox_*.deb DIR`): the package test
# (tests/package/package_test.sh) runs the conformance suite that way.
include(GNUInstallDirs)

foreach(_vkspay_bin vkspay-bench vkspay-reference-handler)
  if(TARGET ${_vkspay_bin})
    install(TARGETS ${_vkspay_bin} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
if(TARGET protocol_bench)
  install(TARGETS protocol_bench RUNTIME DESTINATION ${CMAKE_INSTALL_LIBDIR}/vkspay-sandbox)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/fixtures/faults ${PROJECT_SOURCE_DIR}/fixtures/config
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vkspay-sandbox)
# Debian's path (share/doc/<package>), not GNUInstallDirs' share/doc/<project>.
set(_vkspay_docdir ${CMAKE_INSTALL_DATADIR}/doc/vkspay-sandbox)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${_vkspay_docdir})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${_vkspay_docdir}/docs
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png")
install(FILES ${PROJECT_SOURCE_DIR}/client/cli/vkspay-completion.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME vkspay)

set(CPACK_PACKAGE_NAME vkspay-sandbox)
set(CPACK_PACKAGE_VENDOR "vkspay-sandbox")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "offline twin of the VksPay payment API: sandbox, CLI, conformance suite, benchmarks")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "vkspay-sandbox maintainers <vkspay-sandbox@localhost>")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Binaries without their debug sections: 5-10x smaller packages.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.com/vkspay-sandbox")
# Runtime dependencies (libsqlite3, libssl, libqrencode, libstdc++, ...) from
# the binaries' own links, by dpkg-shlibdeps (dpkg-dev, part of build-essential).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "vkspay-sandbox serves the VksPay personal payment API (webpay, micropay, orderquery,\n\
orderrefund, orderrefundquery) offline, with a cashier page, signed notifications and\n\
retries, fault injection and a control API; vkspay is its command line,\n\
vkspay-conformance grades a server or a merchant's notify handler, vkspay-bench\n\
measures throughput.")
include(CPack)
