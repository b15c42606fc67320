# Who owns which block: a pure function of (W, H, workers). Uses nothing.
fireflies_room(decomposition ${CMAKE_CURRENT_LIST_DIR}/decomposition.cpp)
