# Tests of the HubSpot, Zendesk, ActiveCampaign and Intercom simulators (issue 4 part B), included from
# tests/integration/sim/CMakeLists.txt. In-process semantics and signature vectors are `unit`; the HTTP tests
# start the real omnisync-sim (or $OMNISYNC_SIM_BINARY) on port 0 and are `integration`.
set(_vendor_libs omnisync_sim_hubspot omnisync_sim_zendesk omnisync_sim_activecampaign omnisync_sim_intercom)
omnisync_add_test(NAME test_sim_vendor_units
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_vendor_units.cpp
  LIBS ${_vendor_libs}
  LABELS unit)
omnisync_add_test(NAME test_sim_vendor_api
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_hubspot_api.cpp ${CMAKE_CURRENT_LIST_DIR}/test_sim_zendesk_api.cpp
          ${CMAKE_CURRENT_LIST_DIR}/test_sim_activecampaign_intercom_api.cpp
  LIBS ${_vendor_libs}
  LABELS unit)
# Over HTTP against the real simulator: only where the omnisync-sim executable is part of the build.
if(TARGET omnisync-sim)
  omnisync_add_test(NAME test_sim_vendor_http
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_http.cpp ${CMAKE_CURRENT_LIST_DIR}/test_sim_hubspot.cpp
            ${CMAKE_CURRENT_LIST_DIR}/test_sim_zendesk.cpp ${CMAKE_CURRENT_LIST_DIR}/test_sim_activecampaign.cpp
            ${CMAKE_CURRENT_LIST_DIR}/test_sim_intercom.cpp
    LIBS ${_vendor_libs} Boost::json
    LABELS integration)
  add_dependencies(test_sim_vendor_http omnisync-sim)
endif()
