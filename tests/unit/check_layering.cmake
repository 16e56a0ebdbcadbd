# The layering rules of design.md, checked on the sources. Fails when
#  - a file under src/engine, src/server or src/apps includes a backend's own header
#    (backend/cpu/..., backend/cuda/...): those layers hold only the seam (backend/forward.hpp,
#    backend/batch.hpp, backend/factory.hpp);
#  - a file of a layer below the backends (src/base, src/quant, src/io, src/model, src/kv, src/grammar, src/image,
#    src/text, src/sample) includes any backend/ header: the formats, the checkpoint readers and
#    the model rules depend on no backend (the CPU kernels live in src/backend/cpu/kernels).
# Run by CTest: cmake -DSRC=<src dir> -P check_layering.cmake
set(bad "")
foreach(layer engine server apps)
  file(GLOB_RECURSE files ${SRC}/${layer}/*.cpp ${SRC}/${layer}/*.hpp ${SRC}/${layer}/*.h ${SRC}/${layer}/*.inl)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "#[ \t]*include[ \t]*[\"<]backend/(cpu|cuda)/")
    if(lines)
      list(APPEND bad "${f}: ${lines} (a backend's own header above the seam)")
    endif()
  endforeach()
endforeach()
foreach(layer base quant io model kv text sample grammar image)
  file(GLOB_RECURSE files ${SRC}/${layer}/*.cpp ${SRC}/${layer}/*.hpp ${SRC}/${layer}/*.h ${SRC}/${layer}/*.inl)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "#[ \t]*include[ \t]*[\"<]backend/")
    if(lines)
      list(APPEND bad "${f}: ${lines} (a backend header below the backends)")
    endif()
  endforeach()
endforeach()
if(bad)
  string(REPLACE ";" "\n" msg "${bad}")
  message(FATAL_ERROR "layering broken:\n${msg}")
endif()
message(STATUS "layering ok: engine/, server/ and apps/ include no backend/cpu or backend/cuda header; "
               "base/, quant/, io/, model/, kv/, text/, sample/, grammar/ and image/ include no backend/ header")
