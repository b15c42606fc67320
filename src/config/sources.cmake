# The command line and the TOML config file: parse, validate, print (CLI11 for the options,
# toml++ under a strict reader of our own for the file; toml.cpp is the only file that includes
# toml++).
fireflies_room(config ${CMAKE_CURRENT_LIST_DIR}/cli.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/settings.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/toml.cpp
               USES version_info
               LINKS CLI11::CLI11 fireflies::tomlplusplus)
