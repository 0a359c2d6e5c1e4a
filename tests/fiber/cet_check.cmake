# fiber.cet_refused: assemble the x86-64 switch two ways and link each into a program with
# -fcf-protection=full -z cet-report=error, then read what lld says about our object:
#   built for IBT (-fcf-protection=full): named for SHSTK only (it has endbr64 and says IBT in its note);
#   built without it (the default): named for both (no claim), and the link is refused either way.
# Shadow stacks are never claimed: a program that must have them cannot link this switch, visibly.
# (Debian's crt files have neither note, so such links fail here anyway; only our object's lines count.)
get_filename_component(SRC_DIR ${SRC} DIRECTORY)
function(check mode flags want_ibt_named)
  set(obj ${OUT}_${mode}.o)
  execute_process(COMMAND ${CXX} -c ${flags} -I${ASM_DIR} ${ASM} -o ${obj} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "assembling ${ASM} (${mode}) failed:\n${err}")
  endif()
  execute_process(
    COMMAND ${CXX} -fuse-ld=lld -fcf-protection=full -I${ASM_DIR} -Wl,-z,cet-report=error
      -Wl,--unresolved-symbols=ignore-all ${SRC} ${obj} -o ${OUT}_${mode}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  get_filename_component(name ${obj} NAME)
  string(REGEX MATCHALL "[^\n]*${name}[^\n]*cet-report[^\n]*" ours "${out}${err}")
  message(STATUS "${mode}: lld about ${name}: ${ours}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "${mode}: the link succeeded; -z cet-report=error must refuse ${name} (no SHSTK)")
  endif()
  if(NOT ours MATCHES "SHSTK")
    message(FATAL_ERROR "${mode}: lld did not name ${name} for SHSTK:\n${out}${err}")
  endif()
  if(want_ibt_named AND NOT ours MATCHES "IBT")
    message(FATAL_ERROR "${mode}: ${name} claims IBT although it was not built for it:\n${out}${err}")
  endif()
  if(NOT want_ibt_named AND ours MATCHES "IBT")
    message(FATAL_ERROR "${mode}: lld says ${name} lacks IBT (its GNU property note is wrong):\n${out}${err}")
  endif()
endfunction()
check(ibt "-fcf-protection=full" OFF)
check(plain "" ON)
message(STATUS "ok: IBT claimed only when built for it; SHSTK always refused")
