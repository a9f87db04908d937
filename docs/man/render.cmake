# Renders one man page: the Markdown source with its generated parts spliced in, through pandoc, gzip'd.
#   cmake -DSRC=omnisyncd.8.md -DOUT=build/man/omnisyncd.8 -DVERSION=0.1.0 -DCONFIG_DIR=/etc/omnisync
#         -DFRAGMENTS=build/cli-reference -DSOURCE_DIR=<repo> [-DSIM=path/to/omnisync-sim] -P render.cmake
# writes OUT (roff, for tests and `man -l`) and OUT.gz (installed). Markers in the source:
#   <!-- generated: NAME -->   the file FRAGMENTS/NAME.md (written by omnisync-cli-reference)
#   <!-- include: PATH -->     the repository file PATH without its title line (docs/configuration.md, ...),
#                              so the manual and the docs cannot drift apart
#   <!-- help: omnisync-sim --> the simulator's own --help, as a code block
#   @VERSION@, @CONFIG_DIR@
cmake_minimum_required(VERSION 3.25)
foreach(v SRC OUT VERSION CONFIG_DIR FRAGMENTS SOURCE_DIR PANDOC)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "render.cmake: ${v} is not set")
  endif()
endforeach()

file(READ "${SRC}" text)

string(REGEX MATCHALL "<!-- generated: [A-Za-z0-9_.-]+ -->" markers "${text}")
foreach(m IN LISTS markers)
  string(REGEX REPLACE "<!-- generated: ([A-Za-z0-9_.-]+) -->" "\\1" name "${m}")
  file(READ "${FRAGMENTS}/${name}.md" part)
  string(REPLACE "${m}" "${part}" text "${text}")
endforeach()

string(REGEX MATCHALL "<!-- include: [A-Za-z0-9_./-]+ -->" markers "${text}")
foreach(m IN LISTS markers)
  string(REGEX REPLACE "<!-- include: ([A-Za-z0-9_./-]+) -->" "\\1" path "${m}")
  file(READ "${SOURCE_DIR}/${path}" part)
  # Drop the document's title (the page has its own NAME); its sections become subsections of DESCRIPTION.
  string(REGEX REPLACE "^# [^\n]*\n" "" part "${part}")
  string(REPLACE "${m}" "${part}" text "${text}")
endforeach()

if(text MATCHES "<!-- help: omnisync-sim -->")
  if(NOT DEFINED SIM)
    message(FATAL_ERROR "render.cmake: ${SRC} includes omnisync-sim --help but SIM is not set")
  endif()
  execute_process(COMMAND "${SIM}" --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "render.cmake: ${SIM} --help failed (${rc})")
  endif()
  string(REGEX REPLACE "\n$" "" help "${help}")
  string(REPLACE "\n" "\n    " help "    ${help}")
  string(REPLACE "<!-- help: omnisync-sim -->" "${help}" text "${text}")
endif()

string(REPLACE "@VERSION@" "${VERSION}" text "${text}")
string(REPLACE "@CONFIG_DIR@" "${CONFIG_DIR}" text "${text}")

get_filename_component(out_dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${out_dir}")
file(WRITE "${OUT}.md" "${text}")
# No date in the page (reproducible builds). Tables become definition lists (tables-to-lists.lua): 80 columns.
get_filename_component(here "${CMAKE_CURRENT_LIST_FILE}" DIRECTORY)
execute_process(COMMAND "${PANDOC}" --standalone --from markdown-smart --to man
                        --lua-filter "${here}/tables-to-lists.lua" "${OUT}.md" -o "${OUT}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "render.cmake: pandoc failed on ${OUT}.md: ${err}")
endif()
execute_process(COMMAND gzip -9 -n -c "${OUT}" OUTPUT_FILE "${OUT}.gz" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "render.cmake: gzip failed on ${OUT}")
endif()
