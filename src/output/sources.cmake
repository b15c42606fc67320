target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/h5.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/output_path.cpp
    ${CMAKE_CURRENT_LIST_DIR}/checkpoint_file.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/run_file.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/timeseries.cpp)

# Dimension scales (H5DS, which label the output's axes for netCDF readers) are in HDF5's
# high-level library, hdf5_hl (Debian: libhdf5-dev ships it beside libhdf5).
find_package(HDF5 REQUIRED COMPONENTS C HL)
target_link_libraries(fireflies_core PRIVATE hdf5::hdf5_hl)
