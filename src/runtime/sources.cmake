target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/resources.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/signals.cpp)
