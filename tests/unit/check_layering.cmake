# Fails when a file under src/engine, src/server or src/apps includes a backend's own header
# (backend/cpu/..., backend/cuda/...): those layers hold only the seam (backend/forward.hpp,
# backend/batch.hpp, backend/factory.hpp). Run by CTest: cmake -DSRC=<src dir> -P check_layering.cmake
set(bad "")
foreach(layer engine server apps)
  file(GLOB_RECURSE files ${SRC}/${layer}/*.cpp ${SRC}/${layer}/*.hpp ${SRC}/${layer}/*.h)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "#[ \t]*include[ \t]*[\"<]backend/(cpu|cuda)/")
    if(lines)
      list(APPEND bad "${f}: ${lines}")
    endif()
  endforeach()
endforeach()
if(bad)
  string(REPLACE ";" "\n" msg "${bad}")
  message(FATAL_ERROR "backend headers included above the seam:\n${msg}")
endif()
message(STATUS "layering ok: engine/, server/ and apps/ include no backend/cpu or backend/cuda header")
