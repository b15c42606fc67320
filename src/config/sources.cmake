# The command line and the TOML config file: parse, validate, print (CLI11 for the options, a
# small strict reader of our own for the file).
target_sources(fireflies_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cli.cpp
  ${CMAKE_CURRENT_LIST_DIR}/settings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/toml.cpp)
