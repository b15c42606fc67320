// GoogleTest main for tests that run on every rank of an MPI job, as arbor's unit-distributed
// does: one MPI session for the whole binary, results printed by rank 0 only, and the exit code
// the worst of every rank's, so that a failure on any rank fails the test.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_test.hpp"

namespace {
fireflies::comm::session* the_session = nullptr;
}

fireflies::comm::session& fireflies::mpi_test::world() {
    return *the_session;
}

int main(int argc, char** argv) {
    fireflies::comm::session mpi(argc, argv);
    the_session = &mpi;
    ::testing::InitGoogleTest(&argc, argv);
    if (mpi.rank() != 0) {
        auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
        delete listeners.Release(listeners.default_result_printer());
    }
    int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return failed;
}
