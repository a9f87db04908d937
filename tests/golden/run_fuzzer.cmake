# Runs one libFuzzer target from the fuzz preset's build for a bounded time on a copy of its seed corpus.
# -D FUZZER=<binary> -D CORPUS=<seed dir> -D WORK=<scratch dir> -D SECONDS=<n>. A missing binary fails the test:
# build it first with `cmake --preset fuzz && cmake --build --preset fuzz --target <name>`.
if(NOT EXISTS "${FUZZER}")
  message(FATAL_ERROR "${FUZZER} is missing: run cmake --preset fuzz && cmake --build --preset fuzz --target "
                      "$(grep -v '^#' tests/fuzz/targets.txt)")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB seeds "${CORPUS}/*")
file(COPY ${seeds} DESTINATION "${WORK}/corpus")
execute_process(COMMAND "${FUZZER}" -max_total_time=${SECONDS} -rss_limit_mb=2048 -print_final_stats=1
                        "-artifact_prefix=${WORK}/artifacts/" "${WORK}/corpus"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); the input that broke it is in ${WORK}/artifacts/")
endif()
