# Every third-party dependency, found once, from Debian 12 packages (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS system json url)
find_package(OpenSSL REQUIRED)
find_package(simdjson REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(pugixml REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
find_path(DATE_INCLUDE_DIR date/date.h REQUIRED)

# libphonenumber: runtime from libphonenumber8; headers unpacked from libphonenumber-dev by install-deps.sh,
# because libphonenumber-dev cannot be installed beside Boost 1.81.
set(OMNISYNC_PHONENUMBER_ROOT "${CMAKE_SOURCE_DIR}/.deps/phonenumber" CACHE PATH "Unpacked libphonenumber-dev")
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h
          HINTS "${OMNISYNC_PHONENUMBER_ROOT}/usr/include" REQUIRED)
find_library(PHONENUMBER_LIBRARY NAMES libphonenumber.so.8 phonenumber REQUIRED)
add_library(omnisync_phonenumber INTERFACE)
target_include_directories(omnisync_phonenumber SYSTEM INTERFACE ${PHONENUMBER_INCLUDE_DIR})
target_link_libraries(omnisync_phonenumber INTERFACE ${PHONENUMBER_LIBRARY})
