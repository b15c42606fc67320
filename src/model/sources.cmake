# The firefly's rules and constants, the order parameters' phasors, a block's state for
# checkpoints, the report codec, the synchrony rule. No MPI, no HDF5.
fireflies_room(model ${CMAKE_CURRENT_LIST_DIR}/firefly.cpp
                     ${CMAKE_CURRENT_LIST_DIR}/order_parameter.cpp
                     ${CMAKE_CURRENT_LIST_DIR}/random.cpp
                     ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
                     ${CMAKE_CURRENT_LIST_DIR}/report_codec.cpp
                     ${CMAKE_CURRENT_LIST_DIR}/sync.cpp
               USES decomposition)
