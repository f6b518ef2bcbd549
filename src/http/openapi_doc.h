// http/openapi_doc.h: docs/openapi.json, embedded at build time (see http/CMakeLists.txt and
// http/embed_file.cmake), served at GET /api/v1/openapi.json. Thread-safe: immutable data.
#pragma once

#include <string_view>

namespace parley::http {

std::string_view openapi_document();

}  // namespace parley::http
