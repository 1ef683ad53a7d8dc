// The blocking and packing of gemm_f32 (BLIS-style loop nest). Each thread
// owns a range of weight rows (columns of y) and, per block of them:
//   for k in blocks of kKc:   pack the weight block  (kNc rows × kKc) → L2
//     for tokens in blocks of kMc: pack them          (kMc × kKc)     → L2
//       for each NR weight panel (stays in L1): for each MR token panel: micro-kernel
#include "kernels/gemm_f32.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/gemm_microkernels.h"

namespace chorus::kernels {

namespace {

constexpr int64_t kKc = 256;  // an MR×kKc token panel and a kKc×NR weight panel fit in L1
constexpr int64_t kMc = 120;  // tokens per packed block (a multiple of both MRs, 6 and 12)
constexpr int64_t kNc = 256;  // weight rows per packed block: 256 KB with kKc, in L2

void gemm_reference(const float* x, const float* w, int64_t m, int64_t n, int64_t k, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < n; ++o) {
    for (int64_t t = 0; t < m; ++t) {
      float s = 0.0f;
      for (int64_t i = 0; i < k; ++i) s += x[t * k + i] * w[o * k + i];
      y[t * n + o] = s;
    }
  }
}

// Copies `rows` rows × kc columns of a row-major matrix (row stride ld) into
// panels of `mr` rows, each panel k-major (out[p * mr + i] = src[i][p]);
// the last panel is padded with zero rows.
void pack_panels(const float* src, int64_t ld, int64_t rows, int64_t kc, int mr, float* out) {
  for (int64_t r = 0; r < rows; r += mr, out += kc * mr) {
    const int64_t h = std::min<int64_t>(mr, rows - r);
    // Row by row: each source row is read contiguously; the strided writes
    // stay in the panel, which is in L1.
    for (int64_t i = 0; i < h; ++i) {
      const float* row = src + (r + i) * ld;
      for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = row[p];
    }
    for (int64_t i = h; i < mr; ++i)
      for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = 0.0f;
  }
}

void gemm_rows(const GemmMicroKernel& uk, const float* x, const float* w, int64_t m, int64_t n, int64_t k,
               float* y, int64_t n_begin, int64_t n_end) {
  const int mr = uk.mr, nr = uk.nr;
  thread_local std::vector<float> a_pack, b_pack, edge;
  a_pack.resize(static_cast<size_t>(kMc * kKc));
  b_pack.resize(static_cast<size_t>((kNc + nr) * kKc));
  edge.resize(static_cast<size_t>(mr * nr));
  for (int64_t jc = n_begin; jc < n_end; jc += kNc) {
    const int64_t nc = std::min(kNc, n_end - jc);
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
      const bool accumulate = pc > 0;
      pack_panels(w + jc * k + pc, k, nc, kc, nr, b_pack.data());
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        pack_panels(x + ic * k + pc, k, mc, kc, mr, a_pack.data());
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const float* b = b_pack.data() + (jr / nr) * kc * nr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const float* a = a_pack.data() + (ir / mr) * kc * mr;
            float* c = y + (ic + ir) * n + jc + jr;
            const int64_t h = std::min<int64_t>(mr, mc - ir), wd = std::min<int64_t>(nr, nc - jr);
            if (h == mr && wd == nr) {
              uk.fn(kc, a, b, c, n, accumulate);
              continue;
            }
            // A partial tile goes through a full-size scratch tile.
            for (int64_t i = 0; i < h; ++i)
              for (int64_t j = 0; j < wd; ++j) edge[i * nr + j] = accumulate ? c[i * n + j] : 0.0f;
            uk.fn(kc, a, b, edge.data(), nr, accumulate);
            for (int64_t i = 0; i < h; ++i)
              for (int64_t j = 0; j < wd; ++j) c[i * n + j] = edge[i * nr + j];
          }
        }
      }
    }
  }
}

}  // namespace

void gemm_f32(KernelPath path, const float* x, const float* w, int64_t m, int64_t n, int64_t k, float* y) {
  if (path == KernelPath::kScalar) {
    gemm_reference(x, w, m, n, k, y);
    return;
  }
  const GemmMicroKernel uk = path == KernelPath::kAvx512 ? gemm_micro_kernel_avx512() : gemm_micro_kernel_avx2();
#pragma omp parallel
  {
    // Contiguous ranges of whole NR panels.
    const int64_t n_threads = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t panels = (n + uk.nr - 1) / uk.nr;
    const int64_t per_thread = (panels + n_threads - 1) / n_threads * uk.nr;
    const int64_t begin = std::min(n, id * per_thread), end = std::min(n, begin + per_thread);
    if (begin < end) gemm_rows(uk, x, w, m, n, k, y, begin, end);
  }
}

}  // namespace chorus::kernels
