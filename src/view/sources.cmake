# The live terminal view (`--visualize`): no MPI, no HDF5, only POSIX write/ioctl.
fireflies_room(view ${CMAKE_CURRENT_LIST_DIR}/terminal_view.cpp)
