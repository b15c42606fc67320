# One worker's block and its event loop; talks to the world through worker_link (no MPI).
fireflies_room(scheduler ${CMAKE_CURRENT_LIST_DIR}/firefly_task.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/block_simulation.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/event_loop.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/event_loop_families.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/event_loop_lanes.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/event_loop_wide.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/flash_scan.cpp
               USES model runtime)
