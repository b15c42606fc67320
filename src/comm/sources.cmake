target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/mpi.cpp)
