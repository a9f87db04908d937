# Tests of the HubSpot, Zendesk, ActiveCampaign and Intercom simulators (issue 4 part B), included from
# tests/integration/sim/CMakeLists.txt. In-process semantics and signature vectors are `unit`.
omnisync_add_test(NAME test_sim_vendor_units
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_vendor_units.cpp
  LIBS omnisync_sim_hubspot omnisync_sim_zendesk omnisync_sim_activecampaign omnisync_sim_intercom
  LABELS unit)
omnisync_add_test(NAME test_sim_vendor_api
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_hubspot_api.cpp ${CMAKE_CURRENT_LIST_DIR}/test_sim_zendesk_api.cpp
          ${CMAKE_CURRENT_LIST_DIR}/test_sim_activecampaign_intercom_api.cpp
  LIBS omnisync_sim_hubspot omnisync_sim_zendesk omnisync_sim_activecampaign omnisync_sim_intercom
  LABELS unit)
