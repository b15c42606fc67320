# The only room that talks MPI (and Boost.MPI).
fireflies_room(comm ${CMAKE_CURRENT_LIST_DIR}/mpi.cpp
               USES model runtime
               LINKS MPI::MPI_CXX Boost::mpi)
