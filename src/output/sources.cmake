# Everything HDF5: the run file, the checkpoint file, the initial-phases reader, the checks on
# output paths. The only room that links HDF5: its parallel (Open MPI) flavour with the
# high-level library hdf5_hl (the dimension scales that label the output's axes for netCDF
# readers), fireflies::hdf5 from cmake/hdf5_flavour.cmake. That flavour's hdf5.h includes mpi.h
# and libhdf5 needs libmpi, so this room links MPI's C library too, for HDF5's sake: checkpoints
# go through HDF5's MPI-IO driver, which takes the communicator that src/comm made
# (fireflies::collective; src/output/mpio.cpp hands it over). The room makes no MPI call of its
# own (tests/rooms checks it); rank 0's time series use HDF5's default sec2 driver.
fireflies_room(output ${CMAKE_CURRENT_LIST_DIR}/h5.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/mpio.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/output_path.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/checkpoint_file.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/durable.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/initial_phases.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/run_file.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/run_writer.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/timeseries.cpp
               USES model decomposition runtime version_info
               LINKS fireflies::hdf5)
