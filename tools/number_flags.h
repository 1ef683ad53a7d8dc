// Checks for numeric options. Each says which of two things is wrong: the text
// is not a number ("abc is not a number", "1.5 is not a whole number") or the
// number is outside the option's range ("-1 is out of range: 0 to 1000000").
// They run on the text before CLI11 converts it, so a negative seed can no
// longer wrap around to a huge unsigned one.
#pragma once

#include <cstdint>

#include <CLI/CLI.hpp>

namespace chorus::cli {

// A whole number in [lo, hi].
CLI::Validator integer_in(int64_t lo, int64_t hi);
// A whole number >= 0 that fits 64 bits unsigned (seeds).
CLI::Validator non_negative_integer();
// A finite number in [lo, hi] (NaN and infinities are refused).
CLI::Validator real_in(double lo, double hi);

// A byte count as configs write them ("512MiB", "1.5 GB", 1048576) in [lo, hi] bytes.
CLI::Validator byte_size_in(uint64_t lo, uint64_t hi);

// The most worker threads --threads accepts: 4 x the hardware threads (more
// only slows OpenMP down, and a huge count makes libgomp allocate gigabytes).
int max_threads();

}  // namespace chorus::cli
