# Writes generated/version.cpp with the program version and the git revision of the source tree
# as it is now (with "-dirty" when it has uncommitted changes). Run at configure time and again
# by the fireflies_version target at every build, so that a binary never carries the revision of
# an earlier build; configure_file leaves the file (and so the build) alone when nothing changed.
#
#   cmake -DSOURCE_DIR=... -DOUTPUT=.../version.cpp -DPROJECT_VERSION=... [-DGIT_EXECUTABLE=...] -P version.cmake
set(FIREFLIES_GIT_REVISION "unknown")
if(GIT_EXECUTABLE AND EXISTS ${SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE failed ERROR_QUIET)
  if(NOT failed AND revision)
    set(FIREFLIES_GIT_REVISION ${revision})
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.cpp.in ${OUTPUT} @ONLY)
