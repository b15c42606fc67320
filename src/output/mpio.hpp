#pragma once
// HDF5's MPI-IO driver for the checkpoint files, over the communicator src/comm made for the
// ranks that write or read them together (fireflies::collective).
#include <hdf5.h>

#include "fireflies/collective.hpp"

namespace fireflies::output::h5 {

/// Makes file-access list `fapl` open files with HDF5's MPI-IO driver on `group`'s ranks, with
/// metadata read and written collectively (one rank reads each piece and shares it, one writes,
/// instead of every rank hitting the file system for the same bytes). Throws hdf5_error.
void use_mpio(hid_t fapl, const collective& group);

} // namespace fireflies::output::h5
