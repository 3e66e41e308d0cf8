# A real Prometheus (Debian's) ingesting the protobuf writer's native
# histograms; include()d from tests/CMakeLists.txt.
find_program(HX_PROMETHEUS prometheus)
find_package(Python3 COMPONENTS Interpreter)

# Prints one protobuf exposition of a fixed histogram (protobuf_fixture.cc).
add_executable(protobuf_fixture ${CMAKE_CURRENT_LIST_DIR}/protobuf_fixture.cc)
target_link_libraries(protobuf_fixture PRIVATE hx_metrics)

if(Python3_Interpreter_FOUND AND HX_PROMETHEUS)
  add_test(NAME prometheus_native_histograms
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/native_histograms_test.py
            --fixture $<TARGET_FILE:protobuf_fixture> --prometheus ${HX_PROMETHEUS})
  set_tests_properties(prometheus_native_histograms PROPERTIES LABELS e2e TIMEOUT 120 COST 500)
else()
  message(WARNING "prometheus or python3 not found: prometheus_native_histograms is not registered")
endif()
