# Tests of the simulator framework (sim/core) against the real omnisync-sim process.
if(TARGET omnisync-sim)
  omnisync_add_test(NAME test_sim_framework
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_http.cpp ${CMAKE_CURRENT_LIST_DIR}/test_sim_framework.cpp
    LIBS Boost::json Boost::url
    LABELS integration)
  add_dependencies(test_sim_framework omnisync-sim)
endif()
