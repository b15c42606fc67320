target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/firefly_task.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/block_simulation.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/block_simulation_families.cpp)
