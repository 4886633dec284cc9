# cmake --install into a scratch prefix: the binaries and the systemd unit land where they should.
#   cmake -DBUILD_DIR=... -DPREFIX=... -P install_check.cmake
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}" RESULT_VARIABLE rc
                OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
foreach(f sbin/ntp-server bin/ntp-probe lib/systemd/system/ntp-server.service share/man/man1/ntp-probe.1
          share/man/man8/ntp-server.8)
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "${f} was not installed")
  endif()
endforeach()
file(READ "${PREFIX}/lib/systemd/system/ntp-server.service" unit)
# ExecStart names the binary where --prefix put it; the unit does not conflict with timesyncd.
foreach(line "ExecStart=${PREFIX}/sbin/ntp-server --leap auto --user nobody" "NoNewPrivileges=yes"
             "SystemCallFilter=adjtimex clock_adjtime"
             "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID")
  string(FIND "${unit}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the unit lacks '${line}':\n${unit}")
  endif()
endforeach()
string(FIND "${unit}" "timesyncd.service" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "the unit conflicts with systemd-timesyncd:\n${unit}")
endif()
# --strip: the installed binaries carry no symbol table or debug information.
file(REMOVE_RECURSE "${PREFIX}-strip")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}-strip" --strip RESULT_VARIABLE rc
                OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install --strip failed: ${rc}")
endif()
foreach(f sbin/ntp-server bin/ntp-probe)
  execute_process(COMMAND readelf -S "${PREFIX}-strip/${f}" OUTPUT_VARIABLE sections RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR sections MATCHES "\\.symtab|\\.debug_info")
    message(FATAL_ERROR "${f} is not stripped by cmake --install --strip")
  endif()
endforeach()
file(REMOVE_RECURSE "${PREFIX}-strip")
message(STATUS "installed: ntp-server, ntp-probe, ntp-server.service, the man pages; --strip strips")
