# Rank 0's telemetry hub, without MPI: reports in, samples out.
fireflies_room(hub ${CMAKE_CURRENT_LIST_DIR}/hub.cpp USES model)
