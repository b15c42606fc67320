# The program: its plan, the hub's loop, the recorder (console and file), exit codes. Uses every
# room; links no outside library itself.
fireflies_room(app ${CMAKE_CURRENT_LIST_DIR}/program.cpp
                   ${CMAKE_CURRENT_LIST_DIR}/recorder.cpp
                   ${CMAKE_CURRENT_LIST_DIR}/memory_check.cpp
                   ${CMAKE_CURRENT_LIST_DIR}/telemetry_choice.cpp
               USES comm output scheduler hub config view runtime model decomposition version_info)
