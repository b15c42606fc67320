target_sources(fireflies_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/firefly.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/order_parameter.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/report_codec.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/sync.cpp)
