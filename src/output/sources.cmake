# Everything HDF5: the run file, the checkpoint file, the initial-phases reader, the checks on
# output paths. The only room that links HDF5 (with its high-level library hdf5_hl, for the
# dimension scales that label the output's axes for netCDF readers; Debian: libhdf5-dev ships it
# beside libhdf5).
find_package(HDF5 REQUIRED COMPONENTS C HL)
fireflies_room(output ${CMAKE_CURRENT_LIST_DIR}/h5.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/output_path.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/checkpoint_file.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/durable.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/initial_phases.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/run_file.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/run_writer.cpp
                      ${CMAKE_CURRENT_LIST_DIR}/timeseries.cpp
               USES model decomposition runtime version_info
               LINKS hdf5::hdf5 hdf5::hdf5_hl)
target_compile_definitions(fireflies_output PRIVATE ${HDF5_DEFINITIONS})
