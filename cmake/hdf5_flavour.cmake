# HDF5, pinned to its MPI ("parallel") flavour: the imported target fireflies::hdf5 (libhdf5 and
# its high-level library libhdf5_hl, for the output's dimension scales).
#
# Checkpoints are written and read by the workers in parallel through HDF5's MPI-IO driver, which
# only the parallel build of HDF5 has. One binary cannot link both flavours (the same symbols),
# so the whole program uses the parallel one; rank 0's SWMR time-series file is opened with the
# default sec2 driver of that same library (tests e2e.swmr and e2e.output_file prove SWMR works
# there; see src/output/checkpoint_file.hpp).
#
# The flavour is chosen here, by directory, never by what `h5cc`, `hdf5.pc` or
# /usr/include/hdf5.h happen to point at: Debian switches those with update-alternatives, and a
# build must not change with them. Debian's Open MPI flavour (libhdf5-openmpi-dev) is the
# default; elsewhere pass -DFIREFLIES_HDF5_ROOT=/prefix/of/parallel/hdf5 (include/, lib/), or the
# two cache variables FIREFLIES_HDF5_INCLUDE_DIR and FIREFLIES_HDF5_LIBRARY. Configuring fails
# with a message when the HDF5 found is serial or older than 1.10.
#
# Needs MPI found first (MPI::MPI_C or MPI::MPI_CXX): parallel HDF5's hdf5.h includes mpi.h.

set(FIREFLIES_HDF5_ROOT "" CACHE PATH "prefix of a parallel (MPI) HDF5 >= 1.10; empty: Debian's Open MPI flavour")

set(_fireflies_hdf5_include_hints /usr/include/hdf5/openmpi)
set(_fireflies_hdf5_library_hints /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/hdf5/openmpi
                                  /usr/lib/x86_64-linux-gnu/hdf5/openmpi)
if(FIREFLIES_HDF5_ROOT)
  set(_fireflies_hdf5_include_hints ${FIREFLIES_HDF5_ROOT}/include)
  set(_fireflies_hdf5_library_hints ${FIREFLIES_HDF5_ROOT}/lib ${FIREFLIES_HDF5_ROOT}/lib64)
endif()
find_path(FIREFLIES_HDF5_INCLUDE_DIR NAMES hdf5.h PATHS ${_fireflies_hdf5_include_hints}
          NO_DEFAULT_PATH DOC "include directory of the parallel HDF5 (hdf5.h, H5pubconf.h)")
find_library(FIREFLIES_HDF5_LIBRARY NAMES hdf5 PATHS ${_fireflies_hdf5_library_hints}
             NO_DEFAULT_PATH DOC "libhdf5 of the parallel HDF5")
find_library(FIREFLIES_HDF5_HL_LIBRARY NAMES hdf5_hl PATHS ${_fireflies_hdf5_library_hints}
             NO_DEFAULT_PATH DOC "libhdf5_hl (high-level library) of the parallel HDF5")
if(NOT FIREFLIES_HDF5_INCLUDE_DIR OR NOT FIREFLIES_HDF5_LIBRARY OR NOT FIREFLIES_HDF5_HL_LIBRARY)
  message(FATAL_ERROR "fireflies needs the parallel (MPI) flavour of HDF5 >= 1.10 and did not find it in "
                      "${_fireflies_hdf5_include_hints} and ${_fireflies_hdf5_library_hints}: "
                      "apt-get install libhdf5-openmpi-dev, or pass -DFIREFLIES_HDF5_ROOT=PREFIX")
endif()

set(_fireflies_h5conf ${FIREFLIES_HDF5_INCLUDE_DIR}/H5pubconf.h)
if(NOT EXISTS ${_fireflies_h5conf})
  message(FATAL_ERROR "${FIREFLIES_HDF5_INCLUDE_DIR} has hdf5.h but no H5pubconf.h: not an HDF5 include directory")
endif()
file(STRINGS ${_fireflies_h5conf} _fireflies_h5_parallel REGEX "^#define H5_HAVE_PARALLEL 1")
if(NOT _fireflies_h5_parallel)
  message(FATAL_ERROR "${FIREFLIES_HDF5_INCLUDE_DIR} is a serial HDF5 (H5_HAVE_PARALLEL is not defined): "
                      "fireflies needs the MPI flavour (apt-get install libhdf5-openmpi-dev, or "
                      "-DFIREFLIES_HDF5_ROOT=PREFIX of a parallel HDF5)")
endif()
file(STRINGS ${_fireflies_h5conf} _fireflies_h5_version REGEX "^#define H5_VERSION \"[0-9.]+")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" FIREFLIES_HDF5_VERSION "${_fireflies_h5_version}")
if(FIREFLIES_HDF5_VERSION VERSION_LESS 1.10)
  message(FATAL_ERROR "${FIREFLIES_HDF5_INCLUDE_DIR} is HDF5 ${FIREFLIES_HDF5_VERSION}; fireflies needs >= 1.10 (SWMR)")
endif()

if(NOT TARGET fireflies::hdf5)
  add_library(fireflies::hdf5 INTERFACE IMPORTED)
  target_include_directories(fireflies::hdf5 INTERFACE ${FIREFLIES_HDF5_INCLUDE_DIR})
  target_link_libraries(fireflies::hdf5 INTERFACE ${FIREFLIES_HDF5_HL_LIBRARY} ${FIREFLIES_HDF5_LIBRARY})
  if(TARGET MPI::MPI_C)
    target_link_libraries(fireflies::hdf5 INTERFACE MPI::MPI_C)
  elseif(TARGET MPI::MPI_CXX)
    target_link_libraries(fireflies::hdf5 INTERFACE MPI::MPI_CXX)
  else()
    message(FATAL_ERROR "cmake/hdf5_flavour.cmake: find MPI first (parallel HDF5's hdf5.h includes mpi.h)")
  endif()
endif()
message(STATUS "HDF5 ${FIREFLIES_HDF5_VERSION} (parallel): ${FIREFLIES_HDF5_LIBRARY}")
