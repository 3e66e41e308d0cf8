# Rule, Alertmanager and dashboard tests; include()d from tests/CMakeLists.txt.
# Tools come from Debian's prometheus and prometheus-alertmanager packages.
find_program(HX_PROMTOOL promtool)
find_program(HX_AMTOOL amtool)
find_program(HX_PROMETHEUS prometheus)
find_program(HX_ALERTMANAGER prometheus-alertmanager)
find_package(Python3 COMPONENTS Interpreter)

set(hx_alerts_dir ${CMAKE_SOURCE_DIR}/alerts)
set(hx_alert_tests_dir ${CMAKE_CURRENT_LIST_DIR})

if(HX_PROMTOOL)
  add_test(NAME alerts_rules_check
    COMMAND ${HX_PROMTOOL} check rules ${hx_alerts_dir}/health_exporter.rules.yml)
  file(GLOB hx_rule_tests CONFIGURE_DEPENDS ${hx_alert_tests_dir}/*.test.yml)
  add_test(NAME alerts_rules_unit
    COMMAND ${HX_PROMTOOL} test rules ${hx_rule_tests}
    WORKING_DIRECTORY ${hx_alert_tests_dir})
  set_tests_properties(alerts_rules_check alerts_rules_unit PROPERTIES LABELS alerts)
else()
  message(WARNING "promtool not found: rule tests are not registered")
endif()

if(HX_AMTOOL)
  add_test(NAME alerts_alertmanager_check_config
    COMMAND ${HX_AMTOOL} check-config ${hx_alerts_dir}/alertmanager.yml)
  set_tests_properties(alerts_alertmanager_check_config PROPERTIES LABELS alerts)
  # Routing: each entry is "expected-receiver|label=value label=value".
  set(hx_routes
    "payments-pager|severity=page team=payments check=api"
    "observability-pager|severity=page team=observability"
    "default-pager|severity=page team=unknown"
    "default-pager|severity=page alertname=HealthExporterDown"
    "payments-tickets|severity=ticket team=payments"
    "payments-tickets|severity=warning team=payments"
    "default-tickets|severity=ticket"
    "default-tickets|alertname=SomethingWithoutSeverity")
  set(i 0)
  foreach(route ${hx_routes})
    string(REPLACE "|" ";" parts "${route}")
    list(GET parts 0 receiver)
    list(GET parts 1 labels)
    separate_arguments(labels UNIX_COMMAND "${labels}")
    math(EXPR i "${i} + 1")
    add_test(NAME alerts_alertmanager_route_${i}_${receiver}
      COMMAND ${HX_AMTOOL} config routes test --config.file=${hx_alerts_dir}/alertmanager.yml
              --verify.receivers=${receiver} ${labels})
    set_tests_properties(alerts_alertmanager_route_${i}_${receiver} PROPERTIES LABELS alerts)
  endforeach()
else()
  message(WARNING "amtool not found: Alertmanager config tests are not registered")
endif()

if(Python3_Interpreter_FOUND)
  add_test(NAME alerts_dashboards_lint
    COMMAND ${Python3_EXECUTABLE} ${hx_alert_tests_dir}/lint_dashboards.py
            ${CMAKE_SOURCE_DIR}/dashboards)
  add_test(NAME alerts_runbooks
    COMMAND ${Python3_EXECUTABLE} ${hx_alert_tests_dir}/check_runbooks.py ${CMAKE_SOURCE_DIR})
  set_tests_properties(alerts_dashboards_lint alerts_runbooks PROPERTIES LABELS alerts)
  if(HX_PROMETHEUS AND HX_ALERTMANAGER)
    add_test(NAME alerts_e2e
      COMMAND ${Python3_EXECUTABLE} ${hx_alert_tests_dir}/e2e_test.py
              --binary $<TARGET_FILE:health_exporter>
              --source-dir ${CMAKE_SOURCE_DIR}
              --prometheus ${HX_PROMETHEUS}
              --alertmanager ${HX_ALERTMANAGER})
    set_tests_properties(alerts_e2e PROPERTIES LABELS e2e TIMEOUT 180 COST 500)  # 30 s: start early
  else()
    message(WARNING "prometheus/prometheus-alertmanager not found: alerts_e2e is not registered")
  endif()
endif()
