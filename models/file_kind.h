// What a path names, for loaders that need a regular file: a missing path, a
// directory or a device is reported as such ("is a directory, not a file"),
// never as a parse error of bytes that were never there.
#pragma once

#include <string>
#include <string_view>

namespace chorus::models {

// Throws chorus::Error "PATH: WHAT: does not exist" (kNotFound), "... is a
// directory, not a file" or "... is not a regular file" (kInvalidArgument).
void require_regular_file(const std::string& path, std::string_view what);

// The whole file's bytes; kIo when it cannot be read. A missing path or a
// directory is refused as above; a pipe or a device is read (`--prompts
// <(...)`, /dev/stdin), since nothing here needs to map or seek it.
std::string read_whole_file(const std::string& path, std::string_view what);

}  // namespace chorus::models
