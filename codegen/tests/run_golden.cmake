# One golden diagnostic test of zsync-gen (cmake -P). The generator must refuse the case: exit 1, leave
# no generated file behind (not even a stale one from an earlier run), and print exactly <case>.expected.
#
#   cmake -DGEN=<zsync-gen> -DCXX=<clang++-19> -DMODULE_DIR=<dir of zsync's .pcm files>
#         -DCASE=<dir>/<case>.cpp -DWORK=<scratch dir> [-DFLAGS=<a|b|...>] [-DUPDATE=ON]
#         -P run_golden.cmake
#
# MODULE_DIR is the zsync target's module directory (<build>/CMakeFiles/zsync.dir); the module map is
# written from the .pcm files found there: zsync-io.pcm is the partition zsync:io, zsync.testing.pcm
# the module zsync.testing. FLAGS ('|'-separated) are added to the compile command, after -std=c++23:
# the flags the module files were built with (clang refuses, e.g., a module built with -fno-exceptions).
#
# In <case>.expected the case's directory is written $SRC/, the scratch directory $WORK/ and MODULE_DIR
# $MODULES/, so the file is the same on every machine. The generator runs in $WORK/<case>.
#
# A case may change its module map with lines of its own:
#   // zsync-gen-test: module-file NAME=PATH
# replaces (or adds) the module NAME's entry; a relative PATH is relative to $WORK/<case>.
#
# UPDATE=ON writes what the generator printed into <case>.expected instead of comparing (then review
# the diff: a golden file is only as good as the reading it got).
cmake_minimum_required(VERSION 3.28)

foreach(var GEN CXX MODULE_DIR CASE WORK)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_golden.cmake: -D${var}=... is required")
  endif()
endforeach()

cmake_path(ABSOLUTE_PATH CASE NORMALIZE)
cmake_path(ABSOLUTE_PATH WORK NORMALIZE)
cmake_path(ABSOLUTE_PATH MODULE_DIR NORMALIZE)
cmake_path(GET CASE PARENT_PATH src_dir)
cmake_path(GET CASE STEM case_name)
set(expected_file "${src_dir}/${case_name}.expected")
if(NOT EXISTS "${CASE}")
  message(FATAL_ERROR "no such case: ${CASE}")
endif()
if(NOT IS_DIRECTORY "${MODULE_DIR}")
  message(FATAL_ERROR "MODULE_DIR ${MODULE_DIR} is not a directory (build the zsync target first)")
endif()

# The scratch directory of this case only: WORK itself is never removed.
set(work "${WORK}/${case_name}")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")

# The module map: one -fmodule-file=NAME=PATH per .pcm, as CMake hands it to the compiler (@file).
file(GLOB pcms LIST_DIRECTORIES false "${MODULE_DIR}/*.pcm")
if(NOT pcms)
  message(FATAL_ERROR "no .pcm files in ${MODULE_DIR} (build the zsync target first)")
endif()
set(module_names "")
foreach(pcm IN LISTS pcms)
  cmake_path(GET pcm STEM LAST_ONLY name)
  string(REPLACE "-" ":" name "${name}")  # a module name has no '-': CMake writes a partition's ':' as '-'
  list(APPEND module_names "${name}")
  set("module_path_${name}" "${pcm}")
endforeach()
file(STRINGS "${CASE}" directives REGEX "^// zsync-gen-test: module-file ")
foreach(line IN LISTS directives)
  if(NOT line MATCHES "^// zsync-gen-test: module-file ([^=]+)=(.+)$")
    message(FATAL_ERROR "${CASE}: malformed directive '${line}' (want: // zsync-gen-test: module-file NAME=PATH)")
  endif()
  set(name "${CMAKE_MATCH_1}")
  if(NOT name IN_LIST module_names)
    list(APPEND module_names "${name}")
  endif()
  set("module_path_${name}" "${CMAKE_MATCH_2}")
endforeach()
set(modmap_text "")
foreach(name IN LISTS module_names)
  set(entry "-fmodule-file=${name}=${module_path_${name}}")
  string(REPLACE "\\" "\\\\" entry "${entry}")
  string(REPLACE "\"" "\\\"" entry "${entry}")
  string(APPEND modmap_text "\"${entry}\"\n")
endforeach()
set(modmap "${work}/${case_name}.modmap")
file(WRITE "${modmap}" "${modmap_text}")

# A stale output from an earlier run: a refused case must remove it as well.
set(emit "${work}/${case_name}.zsync.cpp")
file(WRITE "${emit}" "// stale output of an earlier run: zsync-gen must remove it when it refuses the source\n")

set(flags "")
if(DEFINED FLAGS AND NOT FLAGS STREQUAL "")
  string(REPLACE "|" ";" flags "${FLAGS}")
endif()
set(command "${GEN}" "--emit=${emit}" -- "${CXX}" -std=c++23 ${flags} -fno-color-diagnostics "@${modmap}"
            -c "${CASE}" -o "${work}/${case_name}.o")
execute_process(COMMAND ${command}
  WORKING_DIRECTORY "${work}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)

# Machine-independent paths, the longest directory first (one may hold another).
set(dirs "${src_dir}/" "${work}/" "${MODULE_DIR}/")
set(names "$SRC/" "$WORK/" "$MODULES/")
set(keys "")
foreach(i RANGE 2)
  list(GET dirs ${i} dir)
  string(LENGTH "${dir}" length)
  math(EXPR key "100000 + ${length}")  # fixed width: sorted as strings
  list(APPEND keys "${key}:${i}")
endforeach()
list(SORT keys ORDER DESCENDING)
set(actual "${err}")
foreach(key IN LISTS keys)
  string(REGEX REPLACE "^.*:" "" i "${key}")
  list(GET dirs ${i} dir)
  list(GET names ${i} name)
  string(REPLACE "${dir}" "${name}" actual "${actual}")
endforeach()

set(failures "")  # one "\n  <what>" each (a string: the texts may hold ';' and brackets)
if(NOT rc STREQUAL "1")
  if(rc MATCHES "^[0-9]+$")
    string(APPEND failures "\n  exit status ${rc}, expected 1 (a refused source)")
  else()
    string(APPEND failures "\n  the generator did not exit normally: ${rc}")
  endif()
endif()
file(GLOB left LIST_DIRECTORIES true RELATIVE "${work}" "${work}/*")
list(REMOVE_ITEM left "${case_name}.modmap")
if(left)
  list(JOIN left ", " left_text)
  string(APPEND failures "\n  files left behind in $WORK/: ${left_text}")
endif()
if(NOT out STREQUAL "")
  string(APPEND failures "\n  unexpected standard output:\n${out}")
endif()

set(show_texts FALSE)
if(UPDATE)
  file(WRITE "${expected_file}" "${actual}")
  message(STATUS "wrote ${expected_file}")
elseif(NOT EXISTS "${expected_file}")
  string(APPEND failures "\n  no ${case_name}.expected (run with -DUPDATE=ON to write it, then review it)")
else()
  file(READ "${expected_file}" expected)
  if(NOT actual STREQUAL expected)
    # The first differing line, to save reading two blocks side by side. (Not with CMake lists: the
    # text holds '[' and ']', which would group list elements.)
    set(line 1)
    set(e "${expected}")
    set(a "${actual}")
    while(NOT e STREQUAL "" AND NOT a STREQUAL "")
      string(FIND "${e}" "\n" e_end)
      string(FIND "${a}" "\n" a_end)
      string(SUBSTRING "${e}" 0 ${e_end} e_line)
      string(SUBSTRING "${a}" 0 ${a_end} a_line)
      if(NOT e_line STREQUAL a_line OR e_end EQUAL -1 OR a_end EQUAL -1)
        break()
      endif()
      math(EXPR e_end "${e_end} + 1")
      math(EXPR a_end "${a_end} + 1")
      string(SUBSTRING "${e}" ${e_end} -1 e)
      string(SUBSTRING "${a}" ${a_end} -1 a)
      math(EXPR line "${line} + 1")
    endwhile()
    string(APPEND failures "\n  stderr differs from ${case_name}.expected (first difference on line ${line})")
    set(show_texts TRUE)
  endif()
endif()

if(NOT failures STREQUAL "")
  # Printed as they are (message(FATAL_ERROR) would re-wrap the lines).
  string(REPLACE ";" " " command_text "${command}")
  set(report "gen.diagnostics.${case_name} FAILED${failures}\ncommand (in ${work}):\n  ${command_text}\n")
  string(APPEND report "to accept this output as the new ${case_name}.expected:\n  \"${CMAKE_COMMAND}\" -DUPDATE=ON "
         "\"-DGEN=${GEN}\" \"-DCXX=${CXX}\" \"-DMODULE_DIR=${MODULE_DIR}\" \"-DCASE=${CASE}\" \"-DWORK=${WORK}\" "
         "\"-DFLAGS=${FLAGS}\" -P \"${CMAKE_CURRENT_LIST_FILE}\"\n")
  if(show_texts)
    string(APPEND report "---- expected (${expected_file}) ----\n${expected}"
                         "---- actual ----\n${actual}---- end ----\n")
  endif()
  message(NOTICE "${report}")
  message(FATAL_ERROR "gen.diagnostics.${case_name} failed (see above)")
endif()
message(STATUS "gen.diagnostics.${case_name}: ok")
