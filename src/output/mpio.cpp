#include "output/mpio.hpp"

// The one file of src/output that names MPI: HDF5's MPI-IO driver takes the communicator as an
// MPI_Comm and an MPI_Info. No MPI call here (tests/rooms checks that only src/comm calls MPI).
#include <mpi.h>

#include "fireflies/error.hpp"

namespace fireflies::output::h5 {

void use_mpio(hid_t fapl, const collective& group) {
    const MPI_Comm comm = *static_cast<const MPI_Comm*>(group.communicator());
    if (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 ||
        H5Pset_all_coll_metadata_ops(fapl, 1) < 0 || H5Pset_coll_metadata_write(fapl, 1) < 0)
        throw hdf5_error("H5Pset_fapl_mpio (the checkpoint's MPI-IO driver) failed");
}

} // namespace fireflies::output::h5
