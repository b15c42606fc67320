target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/program.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/recorder.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/memory_check.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/telemetry_choice.cpp)
