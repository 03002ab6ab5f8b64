# arm64-toolchain.cmake: cross-compile for arm64 (aarch64) Debian with
# gcc-aarch64-linux-gnu and a sysroot holding bookworm's arm64 -dev
# packages, named by the environment variable NAB_SYSROOT (at configure
# and build time). .ci/cross-arm64.sh makes such a sysroot.
#   NAB_SYSROOT=/path cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=etc/arm64-toolchain.cmake
if(NOT DEFINED ENV{NAB_SYSROOT})
  message(FATAL_ERROR "set NAB_SYSROOT to an arm64 sysroot (see .ci/cross-arm64.sh)")
endif()
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_SYSROOT $ENV{NAB_SYSROOT})
set(CMAKE_FIND_ROOT_PATH $ENV{NAB_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_SYSROOT_DIR} $ENV{NAB_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
  "$ENV{NAB_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:$ENV{NAB_SYSROOT}/usr/share/pkgconfig")
