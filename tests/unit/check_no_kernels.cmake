# Fails when one of the static libraries ARCHIVES ('|'-separated: the GGUF reader scout_io and
# every library it links, collected by tests/unit/CMakeLists.txt) holds an object of the CPU
# backend's SIMD kernels: a source of scout_cpu_kernels (KERNEL_OBJECTS, '|'-separated object
# names) or anything named for AVX2/AVX-512. Reading a GGUF file needs no per-ISA code.
# Run by CTest: cmake -DAR=<ar> -DARCHIVES=a.a|b.a -DKERNEL_OBJECTS=x.cpp.o|y.cpp.o -P check_no_kernels.cmake
cmake_minimum_required(VERSION 3.25)  # IN_LIST in script mode
string(REPLACE "|" ";" archives "${ARCHIVES}")
string(REPLACE "|" ";" kernel_objects "${KERNEL_OBJECTS}")
set(bad "")
foreach(a ${archives})
  execute_process(COMMAND ${AR} t ${a} OUTPUT_VARIABLE members RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cannot list ${a} with ${AR}")
  endif()
  string(REPLACE "\n" ";" members "${members}")
  foreach(m ${members})
    if(m IN_LIST kernel_objects OR m MATCHES "avx")
      list(APPEND bad "${a}: ${m}")
    endif()
  endforeach()
endforeach()
if(bad)
  string(REPLACE ";" "\n" msg "${bad}")
  message(FATAL_ERROR "SIMD kernel objects in the GGUF reader's libraries:\n${msg}")
endif()
list(LENGTH archives n)
message(STATUS "no kernel objects in the ${n} libraries of the GGUF reader")
