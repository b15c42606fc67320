#pragma once
// What the MPI tests share: the one MPI session of the test binary (made in mpi_main.cpp).
#include "comm/mpi.hpp"

namespace fireflies::mpi_test {
comm::session& world();
} // namespace fireflies::mpi_test
