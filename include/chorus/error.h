// chorus::Error — the one error type of the project (ARCHITECTURE rule 5).
#pragma once

#include <stdexcept>
#include <string>

#include "chorus/export.h"

namespace chorus {

enum class ErrorCode {
  kInvalidArgument = 1,  // a caller passed something that cannot work
  kIo = 2,               // the operating system refused a read, map or open
  kFormat = 3,           // a file is malformed: bad magic, truncated, out-of-range field
  kUnsupported = 4,      // well-formed, but a feature chorus does not implement
  kResourceExhausted = 5,  // a budget or pool ran out
  kNotFound = 6,         // a named thing (tensor, key, expert) does not exist
  kInternal = 7,         // a bug in chorus
  kCancelled = 8,        // the caller stopped the work (a callback returned false, a cancel flag)
};

CHORUS_API const char* error_code_name(ErrorCode code);

// The message with each NUL byte written as \x00: what() is a C string, and a
// NUL from a file's key or a JSON "\u0000" would cut the message short there.
CHORUS_API std::string message_without_nul(const std::string& message);

class CHORUS_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message_without_nul(message)), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace chorus
