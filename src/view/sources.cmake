# The live terminal view (`--visualize`): no MPI, no HDF5, only POSIX write/ioctl.
target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/terminal_view.cpp)
