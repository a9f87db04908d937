# CPack pre-build script (packaging/package.cmake): run on the staged files before the packages are made.
# Removes the .comment section (compiler version strings) from every ELF file, as Debian's dh_strip does; CPack
# then splits the debug info into the -dbgsym packages and strips the rest.
file(GLOB_RECURSE files LIST_DIRECTORIES false "${CPACK_TEMPORARY_DIRECTORY}/*")
find_program(objcopy NAMES objcopy REQUIRED)
foreach(f IN LISTS files)
  if(IS_SYMLINK "${f}")
    continue()
  endif()
  file(READ "${f}" magic LIMIT 4 HEX)
  if(magic STREQUAL "7f454c46")   # \x7fELF
    execute_process(COMMAND "${objcopy}" --remove-section=.comment "${f}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "objcopy --remove-section=.comment ${f} failed")
    endif()
  endif()
endforeach()
