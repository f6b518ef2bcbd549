# Generates a C++ source defining `std::string_view <FUNCTION>()` that returns the bytes of
# INPUT. Run with: cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=... -DFUNCTION=... -P embed_file.cmake
file(READ "${INPUT}" content HEX)
string(LENGTH "${content}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
# Break the initialiser into lines of 16 bytes so compilers and diffs stay comfortable.
string(REGEX REPLACE "(('[^']*',){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT} by embed_file.cmake. Do not edit.
#include <string_view>

namespace ${NAMESPACE} {
namespace {
constexpr char kData[] = {
${bytes}
'\\0'};
}  // namespace

std::string_view ${FUNCTION}() { return std::string_view(kData, ${size}); }

}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
