# fiber.cet_refused: link the switch's objects with -fcf-protection=full -z cet-report=error and read what
# lld says about them: our .S object must be refused for SHSTK (shadow stacks are not supported, visibly)
# and accepted for IBT (it has endbr64 and says so in its GNU property note).
list(FILTER OBJECTS INCLUDE REGEX "\\.S\\.o$")
list(GET OBJECTS 0 ASM_OBJ)
get_filename_component(ASM_NAME ${ASM_OBJ} NAME)
get_filename_component(SRC_DIR ${SRC} DIRECTORY)
execute_process(
  COMMAND ${CXX} -fuse-ld=lld -fcf-protection=full -I${SRC_DIR}/../../platform-asm -Wl,-z,cet-report=error
    -Wl,--unresolved-symbols=ignore-all ${SRC} ${ASM_OBJ} -o ${OUT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
string(REGEX MATCHALL "[^\n]*${ASM_NAME}[^\n]*cet-report[^\n]*" ours "${all}")
message(STATUS "lld about ${ASM_NAME}: ${ours}")
if(rc EQUAL 0)
  message(FATAL_ERROR "the link succeeded: a -z cet-report=error link must refuse ${ASM_NAME} (no SHSTK)")
endif()
if(NOT ours MATCHES "SHSTK")
  message(FATAL_ERROR "lld did not name ${ASM_NAME} for SHSTK:\n${all}")
endif()
if(ours MATCHES "IBT")
  message(FATAL_ERROR "lld says ${ASM_NAME} lacks IBT (its GNU property note is wrong):\n${all}")
endif()
message(STATUS "ok: ${ASM_NAME} is marked IBT and refused for SHSTK")
