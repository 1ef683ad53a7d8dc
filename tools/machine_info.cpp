#include "tools/machine_info.h"

#include <omp.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "kernels/cpu_features.h"

namespace chorus::cli {

namespace {
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}
}  // namespace

nlohmann::json machine_info() {
  const auto& f = kernels::cpu_features();
  return {{"cpu", cpu_model()},
          {"online_cores", sysconf(_SC_NPROCESSORS_ONLN)},
          {"omp_max_threads", omp_get_max_threads()},
          {"memory_bytes", static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE)},
          {"avx2", f.avx2},
          {"avx512", f.avx512},
          {"avx512_vnni", f.avx512_vnni},
          {"avx512_bf16", f.avx512_bf16},
          {"best_kernel_path", kernels::kernel_path_name(kernels::best_kernel_path())}};
}

}  // namespace chorus::cli
