# toml++ 3 (Debian: libtomlplusplus-dev), the TOML parser behind `--config`: defines the
# interface target fireflies::tomlplusplus. Only src/config/toml.cpp includes it.
#
# The package's own CMake config (tomlplusplus::tomlplusplus) links Debian's prebuilt
# libtomlplusplus.so (TOML_HEADER_ONLY=0). We take its include directory (and its version check)
# and compile the parser header-only into our own object instead: the program needs no extra
# shared library where it is deployed, and the sanitizer and libFuzzer builds instrument the
# parser they exercise, which they cannot do inside a prebuilt library. Without the config file
# (another distribution, a copy of the header), the header alone will do.
if(NOT TARGET fireflies::tomlplusplus)
  find_package(tomlplusplus 3 CONFIG QUIET)
  if(TARGET tomlplusplus::tomlplusplus)
    get_target_property(TOMLPLUSPLUS_INCLUDE_DIR tomlplusplus::tomlplusplus
                        INTERFACE_INCLUDE_DIRECTORIES)
  else()
    find_path(TOMLPLUSPLUS_INCLUDE_DIR toml++/toml.h)
  endif()
  if(NOT TOMLPLUSPLUS_INCLUDE_DIR OR NOT EXISTS "${TOMLPLUSPLUS_INCLUDE_DIR}/toml++/toml.h")
    message(FATAL_ERROR "toml++ 3 not found (toml++/toml.h): apt-get install libtomlplusplus-dev, "
                        "or run scripts/install-deps.sh, or set TOMLPLUSPLUS_INCLUDE_DIR")
  endif()
  add_library(fireflies_tomlplusplus INTERFACE)
  add_library(fireflies::tomlplusplus ALIAS fireflies_tomlplusplus)
  target_include_directories(fireflies_tomlplusplus SYSTEM INTERFACE ${TOMLPLUSPLUS_INCLUDE_DIR})
  # Header-only, parser only (no formatters: we write TOML ourselves, in src/config/toml.cpp).
  target_compile_definitions(fireflies_tomlplusplus INTERFACE TOML_HEADER_ONLY=1
                                                              TOML_ENABLE_FORMATTERS=0)
endif()
