#include "http/problem.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace parley::http {

std::string_view status_title(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

Response problem_response(const core::Error& error, std::string_view request_id) {
  const int status = core::http_status(error.code);
  const std::string_view code = core::code_name(error.code);
  boost::json::object o;
  o["type"] = "https://parley.chat/problems/" + std::string(code);
  o["title"] = status_title(status);
  o["status"] = status;
  o["code"] = code;
  o["detail"] = error.message;
  o["request_id"] = request_id;
  Response r;
  r.status = status;
  if (error.code == core::Errc::kRateLimited) {
    long long ms = error.retry_after_ms > 0 ? error.retry_after_ms : 1000;
    o["retry_after_ms"] = ms;
    r.headers.emplace_back("Retry-After", std::to_string((ms + 999) / 1000));
  }
  r.headers.emplace_back("Content-Type", "application/problem+json");
  r.body = boost::json::serialize(o);
  return r;
}

}  // namespace parley::http
