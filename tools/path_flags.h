// Checks for options that name a file to write: the path must not be a
// directory, and its folder must exist ("--out: /tmp/x is a directory, not a
// file"), so a run does not compute for minutes and then fail to save.
#pragma once

#include <CLI/CLI.hpp>

namespace chorus::cli {

CLI::Validator output_file();

}  // namespace chorus::cli
