// net/internal/upgrade.h: the WebSocket upgrade hand-over record (see net/http_server.h).
// Pulls in Beast: include only from net/*.cc and transport tests.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace parley::net {

struct Upgrade {
  boost::beast::tcp_stream stream;
  boost::beast::http::request<boost::beast::http::string_body> request;
  std::string client_ip;
  // The parley_session cookie's token, only when the request's Origin passed the same rule as
  // cookie-authenticated REST mutations (cross-site WebSocket hijacking defence); else "".
  std::string cookie_token;
};

}  // namespace parley::net
