// Bounds how long idle OpenMP threads spin before they sleep.
#pragma once

namespace chorus::cli {

// libgomp's default lets a thread that waits at a barrier spin ~300,000 times
// before it sleeps: milliseconds of a core that another process (or our other
// thread) needs. On a 2-core machine with one busy core, llama-110m decode
// fell from 80 tok/s to 1.6 tok/s. libgomp reads its settings only when it is
// loaded, so when the user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT this
// re-executes the program once with GOMP_SPINCOUNT set (kChorusSpinCount);
// it returns when no re-execution was needed or possible.
void bound_omp_spinning(char** argv);

}  // namespace chorus::cli
