#pragma once
#include <string_view>

namespace fireflies {
/// Program version (semantic versioning), e.g. "0.1.0".
std::string_view version() noexcept;
/// `git describe --always --dirty` of the source tree at configure time.
std::string_view git_revision() noexcept;
} // namespace fireflies
