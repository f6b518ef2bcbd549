// gateway/upgrade.h: the hand-over from the HTTP transport to the gateway. Included only by the
// transport's HTTP session translation unit (it pulls in Beast).
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "gateway/gateway.h"

namespace parley::gateway {

// Takes ownership of an HTTP connection whose request is a WebSocket upgrade for
// /api/v1/gateway, completes the handshake and runs the session until it closes.
// `cookie_token` is the parley_session cookie's token when the request carried one ("" if not),
// used when `identify` has no token. Returns at once; the session lives on the stream's executor.
void accept_upgrade(Gateway& gateway, boost::beast::tcp_stream stream,
                    boost::beast::http::request<boost::beast::http::string_body> request,
                    std::string client_ip, std::string cookie_token);

}  // namespace parley::gateway
