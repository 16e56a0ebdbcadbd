# GGUF reader/writer and weight block format tests (src/quant, src/io/gguf*,
# src/model/gguf_config). Included from tests/unit/CMakeLists.txt.
scout_add_test(test_quant
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_quant.cpp
  LIBS scout_quant
  LABELS unit)
scout_add_test(test_gguf
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/test_gguf_types.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_gguf_reader.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_gguf_writer.cpp
  LIBS scout_io
  LABELS unit)
scout_add_test(test_gguf_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_gguf_config.cpp
  LIBS scout_model
  LABELS unit)
