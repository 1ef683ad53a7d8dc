// AVX-512 matmul kernels: none yet; the AVX-512 path uses the AVX2 kernels.
#include "kernels/matmul_paths.h"

namespace chorus::kernels {

MatmulRowsFn matmul_rows_avx512(GgmlType) { return nullptr; }

}  // namespace chorus::kernels
