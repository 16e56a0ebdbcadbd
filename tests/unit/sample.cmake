# Sampler unit tests (src/sample). Included from tests/unit/CMakeLists.txt.
scout_add_test(test_sampler
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_rng.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_steps.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_chain.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_exp.cpp
  LIBS scout_sample
  LABELS unit)
# Separate binary: it links the counting global operator new (tests/alloc_counter.cpp).
scout_add_test(test_sampler_alloc
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sampler_alloc.cpp
  LIBS scout_sample scout_alloc_counter
  LABELS unit)
