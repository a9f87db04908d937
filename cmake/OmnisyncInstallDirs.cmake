# Where an install puts omnisync's files, for any CMAKE_INSTALL_PREFIX. Included by the top-level CMakeLists.txt
# (after GNUInstallDirs); by install code, for the functions only (OMNISYNC_INSTALL_DIRS_FUNCTIONS_ONLY set); and as
# a script printing the rule for a prefix (the install_dirs test):
#   cmake -DOMNISYNC_PREFIX=/usr/local -P cmake/OmnisyncInstallDirs.cmake
#
# - Binaries, man pages, docs, completions: under the prefix (GNUInstallDirs), following `cmake --install --prefix`.
# - The config (omnisync.yaml + mappings/): OMNISYNC_CONFIG_DIR, decided when configuring because omnisyncd's
#   default `-c` and the unit's ExecStart name it. A system install (prefix /usr, /usr/local or under /opt) puts
#   it in /etc/omnisync, where the unit's ConfigurationDirectory= and the docs expect it (GNUInstallDirs alone would
#   say /usr/local/etc for /usr/local); any other prefix (a home folder, a scratch dir) in <prefix>/etc/omnisync,
#   so that an install as an ordinary user never writes to /etc. Set -DOMNISYNC_CONFIG_DIR=... to choose.
# - systemd files: <prefix>/lib/systemd/system, <prefix>/lib/sysusers.d, <prefix>/lib/tmpfiles.d, which systemd
#   reads for /usr and /usr/local alike (on Debian 12 /lib is /usr/lib).
# - State and runtime folders are FHS paths whatever the prefix: /var/lib/omnisync and /run/omnisync (the unit's
#   StateDirectory=/RuntimeDirectory=, the tmpfiles file and daemon.state_dir/control_socket's defaults).

# omnisync_config_dir_for(PREFIX OUT): the config folder for an install prefix (the rule above).
function(omnisync_config_dir_for prefix out)
  string(REGEX REPLACE "/+$" "" p "${prefix}")
  if(p STREQUAL "/usr" OR p STREQUAL "/usr/local" OR p MATCHES "^/opt(/|$)" OR p STREQUAL "")
    set(${out} "/etc/omnisync" PARENT_SCOPE)
  else()
    set(${out} "${p}/etc/omnisync" PARENT_SCOPE)
  endif()
endfunction()

# omnisync_zsh_dir_for(PREFIX OUT): where zsh finds completion functions (Debian's zsh reads vendor-completions
# under /usr and site-functions under /usr/local; other prefixes need an fpath entry, as with any zsh install).
function(omnisync_zsh_dir_for prefix out)
  string(REGEX REPLACE "/+$" "" p "${prefix}")
  if(p STREQUAL "/usr")
    set(${out} "/usr/share/zsh/vendor-completions" PARENT_SCOPE)
  else()
    set(${out} "${p}/share/zsh/site-functions" PARENT_SCOPE)
  endif()
endfunction()

if(OMNISYNC_INSTALL_DIRS_FUNCTIONS_ONLY)
  return()
endif()
if(DEFINED OMNISYNC_PREFIX)
  omnisync_config_dir_for("${OMNISYNC_PREFIX}" _config)
  omnisync_zsh_dir_for("${OMNISYNC_PREFIX}" _zsh)
  message("config=${_config}")
  message("zsh=${_zsh}")
  return()
endif()

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(OMNISYNC_CONFIG_DIR "" CACHE PATH "Where the config is installed (empty: from CMAKE_INSTALL_PREFIX, see cmake/OmnisyncInstallDirs.cmake)")
  if(OMNISYNC_CONFIG_DIR STREQUAL "")
    omnisync_config_dir_for("${CMAKE_INSTALL_PREFIX}" OMNISYNC_CONFIG_DIR)
  endif()
  message(STATUS "omnisync: prefix ${CMAKE_INSTALL_PREFIX}, config in ${OMNISYNC_CONFIG_DIR}")
endif()
