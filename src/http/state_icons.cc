#include "http/state_icons.h"

namespace hx {

std::string_view StateIconSvg(StateMark mark) {
  switch (mark) {
    case StateMark::kOk:
      return "<svg class=\"icon\" viewBox=\"0 0 16 16\" aria-hidden=\"true\"><circle cx=\"8\" "
             "cy=\"8\" r=\"7.5\" fill=\"currentColor\"/><path d=\"M4.5 8.2l2.3 2.3 4.7-4.9\" "
             "fill=\"none\" stroke=\"#fff\" stroke-width=\"1.8\" stroke-linecap=\"round\" "
             "stroke-linejoin=\"round\"/></svg>";
    case StateMark::kWarn:
      return "<svg class=\"icon\" viewBox=\"0 0 16 16\" aria-hidden=\"true\"><path d=\"M8 "
             "1.2l7.2 13.3H.8z\" fill=\"currentColor\" stroke=\"currentColor\" "
             "stroke-linejoin=\"round\"/><path d=\"M8 6v4\" stroke=\"#fff\" stroke-width=\"1.8\" "
             "stroke-linecap=\"round\"/><circle cx=\"8\" cy=\"12.3\" r=\"1\" fill=\"#fff\"/></svg>";
    case StateMark::kBad:
      return "<svg class=\"icon\" viewBox=\"0 0 16 16\" aria-hidden=\"true\"><circle cx=\"8\" "
             "cy=\"8\" r=\"7.5\" fill=\"currentColor\"/><path d=\"M5.3 5.3l5.4 5.4M10.7 5.3l-5.4 "
             "5.4\" stroke=\"#fff\" stroke-width=\"1.8\" stroke-linecap=\"round\"/></svg>";
    case StateMark::kPending:
      return "<svg class=\"icon\" viewBox=\"0 0 16 16\" aria-hidden=\"true\"><circle cx=\"8\" "
             "cy=\"8\" r=\"6.6\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.8\"/><path "
             "d=\"M8 4.5V8l2.4 1.6\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.6\" "
             "stroke-linecap=\"round\"/></svg>";
    case StateMark::kUnknown:
      return "<svg class=\"icon\" viewBox=\"0 0 16 16\" aria-hidden=\"true\"><circle cx=\"8\" "
             "cy=\"8\" r=\"6.6\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.8\"/><path "
             "d=\"M6.2 6.3a1.9 1.9 0 1 1 2.6 1.8c-.5.2-.8.6-.8 1.1v.4\" fill=\"none\" "
             "stroke=\"currentColor\" stroke-width=\"1.6\" stroke-linecap=\"round\"/><circle "
             "cx=\"8\" cy=\"11.6\" r=\".9\" fill=\"currentColor\"/></svg>";
  }
  return "";
}

std::string_view StateFaviconColour(StateMark mark) {
  switch (mark) {
    case StateMark::kOk:
      return "%231a7f37";
    case StateMark::kWarn:
      return "%23bf8700";
    case StateMark::kBad:
      return "%23cf222e";
    case StateMark::kPending:
    case StateMark::kUnknown:
      return "%236e7781";
  }
  return "%236e7781";
}

}  // namespace hx
