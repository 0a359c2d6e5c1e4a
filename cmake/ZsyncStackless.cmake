# zsync_stackless(<target> [GEN_OPTIONS <option>...])
#   Runs every real compile of <target> through zsync-gen (as its CXX_COMPILER_LAUNCHER:
#   `zsync-gen <options> -- <compiler> <args...>`), which makes frames of the annotated functions.
#   An existing launcher of the target (e.g. ccache) is replaced: the generator must parse the real command.
#
# Reads, in the calling directory's scope:
#   ZSYNC_GEN_EXECUTABLE  path of zsync-gen (set by zsync's own CMakeLists.txt, or by zsyncConfig.cmake to
#                         the installed bin/zsync-gen; a -DZSYNC_GEN_EXECUTABLE=... cache entry wins)
#   ZSYNC_GEN_TARGET      the target that builds it in-tree, or empty
include_guard(GLOBAL)

function(zsync_stackless target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "GEN_OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "zsync_stackless(${target}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "zsync_stackless(${target}): no such target")
  endif()
  if(NOT ZSYNC_GEN_EXECUTABLE)
    message(FATAL_ERROR "zsync_stackless(${target}): no zsync-gen (ZSYNC_GEN_EXECUTABLE is empty; build zsync "
                        "with ZSYNC_BUILD_GEN=ON or pass -DZSYNC_GEN_EXECUTABLE=/path/to/zsync-gen)")
  endif()
  # A list, so that no GEN_OPTIONS gives no empty argument.
  set(launcher "${ZSYNC_GEN_EXECUTABLE}" ${arg_GEN_OPTIONS} --)
  set_property(TARGET ${target} PROPERTY CXX_COMPILER_LAUNCHER "${launcher}")
  if(ZSYNC_GEN_TARGET AND TARGET ${ZSYNC_GEN_TARGET})
    add_dependencies(${target} ${ZSYNC_GEN_TARGET})
  endif()
  # Deferred to the end of this directory so sources added after the call are covered too.
  cmake_language(EVAL CODE "
    cmake_language(DEFER CALL _zsync_stackless_object_depends [[${target}]] [[${ZSYNC_GEN_EXECUTABLE}]])")
endfunction()

# The launcher is not part of the compile rule: without this a rebuilt generator recompiles nothing.
function(_zsync_stackless_object_depends target gen)
  get_target_property(srcdir ${target} SOURCE_DIR)
  get_target_property(sources ${target} SOURCES)
  if(NOT sources)
    set(sources "")
  endif()
  get_target_property(sets ${target} CXX_MODULE_SETS)
  foreach(set IN LISTS sets)
    if(set STREQUAL "CXX_MODULES")  # the default-named set has an unsuffixed property
      get_target_property(files ${target} CXX_MODULE_SET)
    else()
      get_target_property(files ${target} CXX_MODULE_SET_${set})
    endif()
    if(files)
      list(APPEND sources ${files})
    endif()
  endforeach()
  set(files "")
  foreach(src IN LISTS sources)
    if(src MATCHES "\\$<")  # generator expressions cannot name a source property
      continue()
    endif()
    cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY "${srcdir}" NORMALIZE)
    list(APPEND files "${src}")
  endforeach()
  if(files)
    set_property(SOURCE ${files} TARGET_DIRECTORY ${target} APPEND PROPERTY OBJECT_DEPENDS "${gen}")
  endif()
endfunction()
