# The command line and the TOML config file: parse, validate, print (CLI11 for the options,
# toml++ under a strict reader of our own for the file; toml.cpp is the only file that includes
# toml++).
target_sources(fireflies_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cli.cpp
  ${CMAKE_CURRENT_LIST_DIR}/settings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/toml.cpp)
target_link_libraries(fireflies_core PRIVATE fireflies::tomlplusplus)
