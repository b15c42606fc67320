# Signals, memory figures, timer slack: POSIX only.
fireflies_room(runtime ${CMAKE_CURRENT_LIST_DIR}/resources.cpp ${CMAKE_CURRENT_LIST_DIR}/signals.cpp)
