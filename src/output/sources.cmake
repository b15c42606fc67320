target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/h5.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/output_path.cpp
    ${CMAKE_CURRENT_LIST_DIR}/checkpoint_file.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/run_file.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/timeseries.cpp)
