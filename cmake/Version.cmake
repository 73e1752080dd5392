# vkspay_version: an INTERFACE library whose generated header
# <vkspay/version.h> holds the project version, the git commit and the build
# type, for the --version flag of every binary.
#
# The commit is read at configure time (`git rev-parse --short HEAD`), with
# "unknown" when the source is not a git checkout or git is missing. CMake
# re-runs when HEAD or the checked-out branch moves, so a rebuild after a
# commit or a checkout reports the new commit without a manual reconfigure.
# Uncommitted changes are not marked.

set(VKSPAY_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(
    COMMAND ${GIT_EXECUTABLE} rev-parse --short HEAD
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    OUTPUT_VARIABLE _vkspay_commit
    RESULT_VARIABLE _vkspay_git_rc
    OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET)
  if(_vkspay_git_rc EQUAL 0 AND NOT _vkspay_commit STREQUAL "")
    set(VKSPAY_GIT_COMMIT "${_vkspay_commit}")
    # The files that change when HEAD moves: HEAD itself (checkout) and the
    # branch's ref (commit). A packed ref has no file; then only HEAD is watched.
    execute_process(
      COMMAND ${GIT_EXECUTABLE} rev-parse --absolute-git-dir --symbolic-full-name HEAD
      WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
      OUTPUT_VARIABLE _vkspay_git_paths
      OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET)
    string(REPLACE "\n" ";" _vkspay_git_paths "${_vkspay_git_paths}")
    list(GET _vkspay_git_paths 0 _vkspay_git_dir)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_vkspay_git_dir}/HEAD")
    list(LENGTH _vkspay_git_paths _vkspay_n)
    if(_vkspay_n GREATER 1)
      list(GET _vkspay_git_paths 1 _vkspay_ref)
      execute_process(
        COMMAND ${GIT_EXECUTABLE} rev-parse --path-format=absolute --git-path ${_vkspay_ref}
        WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
        OUTPUT_VARIABLE _vkspay_ref_file
        OUTPUT_STRIP_TRAILING_WHITESPACE
        ERROR_QUIET)
      if(EXISTS "${_vkspay_ref_file}")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_vkspay_ref_file}")
      endif()
    endif()
  endif()
endif()

set(VKSPAY_BUILD_TYPE "${CMAKE_BUILD_TYPE}")
if(VKSPAY_BUILD_TYPE STREQUAL "")
  set(VKSPAY_BUILD_TYPE "none")
endif()

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/version/version.h.in
               ${CMAKE_CURRENT_BINARY_DIR}/generated/include/vkspay/version.h @ONLY)
add_library(vkspay_version INTERFACE)
target_include_directories(vkspay_version INTERFACE ${CMAKE_CURRENT_BINARY_DIR}/generated/include)
