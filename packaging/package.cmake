# The Debian packages, built with CPack's DEB generator from an installed tree of this build:
#   cpack --config build/default/CPackConfig.cmake -B build/default/packages     (scripts/package.sh does this)
# gives omnisync_<v>_amd64.deb (omnisyncd, omnisyncctl, unit, sysusers/tmpfiles, /etc/omnisync as conffiles, man
# pages, completions, docs), omnisync-sim_<v>_amd64.deb (the simulators and omnisync-demo), and their debug
# symbols as omnisync-dbgsym_<v>_amd64.ddeb and omnisync-sim-dbgsym_<v>_amd64.ddeb (binaries stripped in the
# main packages, the symbols split out by build id). Library dependencies are computed by dpkg-shlibdeps; the
# few listed by hand are what scripts need (see below). Included last by the top-level CMakeLists.txt.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME omnisync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the omnisync developers")
set(CPACK_PACKAGE_CONTACT "omnisync maintainers <maintainers@omnisync.example>")
set(CPACK_PACKAGE_FILE_NAME omnisync)
# The packages install for prefix /usr (config in /etc/omnisync whatever the build's prefix); DESTDIR staging
# lets the install code see the real prefix.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES OFF)   # the debug info goes to the -dbgsym packages instead (CPACK_DEBIAN_DEBUGINFO_PACKAGE)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL omnisync sim)
set(CPACK_COMPONENTS_GROUPING IGNORE)

set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${OMNISYNC_DEBIAN_REVISION})   # from packaging/debian/changelog
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
# gzip, not dpkg-deb's default xz: xz spends about 40 s of CPU on the ~120 MB of debug info of the -dbgsym
# packages, twice (they are repacked after CPack, cpack_post_build.cmake), in every run of the test command; gzip
# takes a few seconds, for larger files (omnisync 3.2 MB instead of 2.0, omnisync-dbgsym 15 MB instead of 8.4).
# Every dpkg and apt reads both.
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Before packaging: drop the .comment sections (as dh_strip). After: finish the -dbgsym packages (md5sums, modes,
# the doc link), which CMake 3.25's DEB generator leaves as Debian would not.
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/cpack_pre_build.cmake)
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/cpack_post_build.cmake)

# ---- omnisync --------------------------------------------------------------------------------------------------
set(CPACK_DEBIAN_OMNISYNC_PACKAGE_NAME omnisync)
set(CPACK_DEBIAN_OMNISYNC_PACKAGE_SECTION net)
set(CPACK_COMPONENT_OMNISYNC_DESCRIPTION "customer 360 sync daemon for Salesforce, HubSpot, Zendesk and more
omnisyncd keeps one 360-degree view of each customer synchronized across
Salesforce, HubSpot, ActiveCampaign, Zendesk and Intercom: it polls each
system and receives its webhooks, maps records to canonical attributes,
resolves the records of one person into one profile (identity resolution,
survivorship, timeline and KPIs) and writes the result to every system that
subscribes to it. omnisyncctl steers it through a Unix control socket.
.
This package ships the daemon as a hardened systemd service running as the
system user omnisync, its configuration and field mappings in /etc/omnisync,
man pages and bash, zsh and fish completions.")
# The maintainer scripts call systemd-sysusers and systemd-tmpfiles (systemd); everything else is computed.
set(CPACK_DEBIAN_OMNISYNC_PACKAGE_DEPENDS "systemd")
set(_control ${CMAKE_BINARY_DIR}/packaging/control)
# Every file under /etc/omnisync is a conffile: an administrator's edits survive upgrades.
file(GLOB_RECURSE _mappings RELATIVE ${PROJECT_SOURCE_DIR}/config/mappings CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/config/mappings/*.yaml)
list(SORT _mappings)
set(_conffiles "${OMNISYNC_CONFIG_DIR}/omnisync.yaml\n")
foreach(_m IN LISTS _mappings)
  string(APPEND _conffiles "${OMNISYNC_CONFIG_DIR}/mappings/${_m}\n")
endforeach()
file(WRITE ${_control}/conffiles "${_conffiles}")
foreach(_script IN ITEMS postinst prerm postrm)
  file(COPY ${PROJECT_SOURCE_DIR}/packaging/debian/${_script} DESTINATION ${_control}
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_OMNISYNC_PACKAGE_CONTROL_EXTRA
    "${_control}/conffiles;${_control}/postinst;${_control}/prerm;${_control}/postrm")

# ---- omnisync-sim ----------------------------------------------------------------------------------------------
set(CPACK_DEBIAN_SIM_PACKAGE_NAME omnisync-sim)
set(CPACK_DEBIAN_SIM_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_SIM_DESCRIPTION "vendor API simulators and demo for omnisync
omnisync-sim serves simulations of the Salesforce, HubSpot, Zendesk,
ActiveCampaign and Intercom APIs on loopback, over HTTP and HTTPS, seeded
with a deterministic data set; it stands in for the real services in tests,
benchmarks and the demo.
.
omnisync-demo runs the demo from the installed files: omnisyncd syncs the
simulated systems, then a change in HubSpot travels by signed webhook to
Zendesk, and a segment fills from a Zendesk ticket and empties when it is
solved, its HubSpot list, ActiveCampaign tag and Salesforce campaign following.")
# omnisync-demo runs omnisyncd and omnisyncctl of the same version, and is a bash script that uses python3 and
# curl: dpkg-shlibdeps cannot see those, so they are named here.
set(CPACK_DEBIAN_SIM_PACKAGE_DEPENDS "omnisync (= ${PROJECT_VERSION}-${OMNISYNC_DEBIAN_REVISION}), python3, curl")

include(CPack)
