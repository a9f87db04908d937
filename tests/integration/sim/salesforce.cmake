# Tests of the Salesforce simulator against the real omnisync-sim process.
if(TARGET omnisync-sim)
  omnisync_add_test(NAME test_sim_salesforce
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_http.cpp ${CMAKE_CURRENT_LIST_DIR}/test_sim_salesforce.cpp
            ${CMAKE_CURRENT_LIST_DIR}/test_sim_salesforce_index.cpp
    LIBS Boost::json OpenSSL::Crypto
    LABELS integration)
  add_dependencies(test_sim_salesforce omnisync-sim)
endif()
