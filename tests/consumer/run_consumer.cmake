# cmake -P script behind the consumer.find_package test (see CMakeLists.txt beside it).
# Inputs (-D): ZSYNC_BUILD_DIR WORK_DIR PROJECT_DIR GENERATOR MAKE_PROGRAM CXX_COMPILER BUILD_TYPE
#              CXX_FLAGS LINK_FLAGS
cmake_minimum_required(VERSION 3.28)

foreach(var ZSYNC_BUILD_DIR WORK_DIR PROJECT_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Debug)
endif()

set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")

# Runs one step, echoing it, and stops the test on failure.
function(step what)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "consumer: ${what}: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer: ${what} failed (${rc})")
  endif()
endfunction()

# A fresh prefix and build tree every time: nothing left over from an earlier install can help.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

step("install zsync" "${CMAKE_COMMAND}" --install "${ZSYNC_BUILD_DIR}" --prefix "${prefix}" --config "${BUILD_TYPE}")

set(configure_args
  -S "${PROJECT_DIR}" -B "${build}" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  # Only the fresh prefix may provide zsync (never a system-wide or user-registry copy).
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
step("configure consumer" "${CMAKE_COMMAND}" ${configure_args})
step("build consumer" "${CMAKE_COMMAND}" --build "${build}" --config "${BUILD_TYPE}")

# The package must come from the prefix just installed.
file(STRINGS "${build}/CMakeCache.txt" zsync_dir REGEX "^zsync_DIR:")
string(FIND "${zsync_dir}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "consumer: zsync was found outside ${prefix}: ${zsync_dir}")
endif()

# zsync_stackless(app) must have put the installed generator in front of app's compiles.
if(GENERATOR MATCHES "Ninja")
  file(READ "${build}/build.ninja" ninja_file)
  string(FIND "${ninja_file}" "LAUNCHER = ${prefix}/bin/zsync-gen --" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "consumer: app is not compiled through ${prefix}/bin/zsync-gen")
  endif()
endif()

# The generator wrote its copy of main.cpp and a report with its time; a second build of unchanged input
# regenerates and recompiles nothing.
file(GLOB_RECURSE reports "${build}/*.zsync.txt")
if(NOT reports)
  message(FATAL_ERROR "consumer: no zsync-gen report was written (was main.cpp generated?)")
endif()
foreach(report IN LISTS reports)
  file(READ "${report}" text)
  message(STATUS "consumer: ${text}")
endforeach()
file(GLOB_RECURSE generated "${build}/*.zsync.cpp")
file(TIMESTAMP "${generated}" generated_before "%s")
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${build}" --config "${BUILD_TYPE}" -- -d explain
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer: rebuild failed:\n${out}${err}")
endif()
if(GENERATOR MATCHES "Ninja" AND NOT out MATCHES "no work to do")
  message(FATAL_ERROR "consumer: a rebuild of unchanged sources did work:\n${out}${err}")
endif()
file(TIMESTAMP "${generated}" generated_after "%s")
if(NOT generated_before STREQUAL generated_after)
  message(FATAL_ERROR "consumer: the generated copy was rewritten for unchanged input")
endif()

step("run consumer" "${build}/app")
