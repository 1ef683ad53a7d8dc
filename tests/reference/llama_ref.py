#!/usr/bin/python3
"""Independent numpy reference forward pass for Llama-family models (llama, qwen2, gemma3).

It shares no code with chorus: its own GGUF v2/v3 parser, its own llama2.c
checkpoint reader, its own dequantizers and its own float64 forward pass, so
that agreement with the C++ runtime means something.

Usage:
    /usr/bin/python3 llama_ref.py --model PATH --tokens 1,2,3 --out FILE.json [--all-positions]

Inputs: a llama2.c checkpoint (.bin) or a GGUF file with the `llama`, `qwen2`
or `gemma3` architecture and tensors of type F32, F16, BF16, Q8_0, Q4_0, Q4_1,
Q5_0, Q5_1, Q4_K, Q5_K or Q6_K.
The tokens are fed from position 0; nothing is prepended.

Output JSON:
    {
      "model": "<file name>",
      "tokens": [t0, t1, ...],          # the input ids
      "positions": [p, ...],            # which positions have logits
      "logits": [[v0, ..., v_vocab-1],  # one row per listed position:
                 ...]                   #   the logits after feeding tokens[p] at position p
    }
Without --all-positions only the last position is written.

CTest fixtures (tests/reference/CMakeLists.txt) write ${CHORUS_REFERENCE_DIR}/<model>.json
(CMake cache variable, default <build>/ref):
    ref_logits_aidreams260K  -> FIXTURES_SETUP ref_aidreams260K
    ref_logits_stories260K   -> FIXTURES_SETUP ref_stories260K   (from the .gguf)
    ref_logits_smollm2       -> FIXTURES_SETUP ref_smollm2       (only if the file exists)
A consuming test declares FIXTURES_REQUIRED with the matching name.

Math (float64 throughout; quantized weights are dequantized exactly as GGML does):
RMSNorm; RoPE on adjacent pairs (x[2i], x[2i+1]) rotated by pos * base^(-2i/rope_dim)
(llama2.c's rotation and GGML's "normal" mode, right for GGUF llama files
because the Hugging Face converter permutes the Q/K rows); grouped-query
causal attention scaled by 1/sqrt(head_dim); SwiGLU feed-forward; final
RMSNorm; classifier `output.weight` or the tied token embedding.
qwen2 adds biases to q/k/v and rotates the halves (x[i], x[i + d/2]) of each
head (GGML's "neox" mode). gemma3 scales the embeddings by sqrt(dim), RMS-norms
q and k per head, norms the attention and feed-forward outputs before each
residual add, uses GeGLU (tanh GELU), the head width `attention.key_length`,
and a sliding window of `attention.sliding_window` positions with rope base
10000 on every layer but each sixth (those are global, with `rope.freq_base`).
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

# ---------------------------------------------------------------- GGUF parsing

GGUF_MAGIC = b"GGUF"
GGUF_SCALARS = {  # value type -> struct format
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}
GGUF_STRING, GGUF_ARRAY = 8, 9

GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q4_1, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 3, 8, 30
GGML_Q5_0, GGML_Q5_1, GGML_Q4_K, GGML_Q5_K, GGML_Q6_K = 6, 7, 12, 13, 14
# type -> (elements per block, bytes per block)
GGML_BLOCKS = {
    GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2),
    GGML_Q8_0: (32, 34), GGML_Q4_0: (32, 18), GGML_Q4_1: (32, 20),
    GGML_Q5_0: (32, 22), GGML_Q5_1: (32, 24),
    GGML_Q4_K: (256, 144), GGML_Q5_K: (256, 176), GGML_Q6_K: (256, 210),
}


class Reader:
    """Little-endian cursor over a bytes-like buffer."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt):
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.unpack("<Q")
        s = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8", errors="replace")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in GGUF_SCALARS:
            return self.unpack(GGUF_SCALARS[vtype])
        if vtype == GGUF_STRING:
            return self.string()
        if vtype == GGUF_ARRAY:
            elem_type = self.unpack("<I")
            count = self.unpack("<Q")
            return [self.value(elem_type) for _ in range(count)]
        raise ValueError(f"unknown GGUF value type {vtype} at offset {self.pos}")


def parse_gguf(path):
    """Returns (metadata dict, {name: (dims, type, absolute offset)}, file buffer)."""
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    r = Reader(buf)
    if bytes(buf[:4]) != GGUF_MAGIC:
        raise ValueError(f"{path}: not a GGUF file")
    r.pos = 4
    version = r.unpack("<I")
    if version not in (2, 3):
        raise ValueError(f"{path}: unsupported GGUF version {version}")
    n_tensors = r.unpack("<Q")
    n_kv = r.unpack("<Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("<I")
        dims = [r.unpack("<Q") for _ in range(n_dims)]
        ttype = r.unpack("<I")
        offset = r.unpack("<Q")
        infos.append((name, dims, ttype, offset))
    alignment = int(meta.get("general.alignment", 32))
    data_start = (r.pos + alignment - 1) // alignment * alignment
    tensors = {name: (dims, ttype, data_start + off) for name, dims, ttype, off in infos}
    return meta, tensors, buf


def f16_to_f64(raw_u8):
    """A (..., 2) uint8 view of little-endian halves -> float64 (..., )."""
    return np.ascontiguousarray(raw_u8).view("<f2")[..., 0].astype(np.float64)


def low_high_nibbles(qs):
    """(blocks, n) bytes -> (blocks, 2n): the low nibbles, then the high nibbles."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def k_scales_mins(sc):
    """The 12 packed bytes of a Q4_K/Q5_K super-block -> 8 six-bit scales and 8 mins.

    Sub-blocks 0-3 keep their scale and min in the low 6 bits of bytes 0-3 and 4-7;
    sub-blocks 4-7 have their low 4 bits in bytes 8-11 (scale low, min high nibble)
    and their top 2 bits in the top 2 bits of bytes 0-3 (scales) and 4-7 (mins)."""
    sc = sc.astype(np.int64)
    scales = np.empty((sc.shape[0], 8), dtype=np.int64)
    mins = np.empty((sc.shape[0], 8), dtype=np.int64)
    scales[:, :4] = sc[:, 0:4] & 63
    mins[:, :4] = sc[:, 4:8] & 63
    scales[:, 4:] = (sc[:, 8:12] & 0x0F) | ((sc[:, 0:4] >> 6) << 4)
    mins[:, 4:] = (sc[:, 8:12] >> 4) | ((sc[:, 4:8] >> 6) << 4)
    return scales.astype(np.float64), mins.astype(np.float64)


def bits_of(qh_u8, n_bits):
    """(blocks, n_bits/8) little-endian bytes -> (blocks, n_bits) of 0/1, bit i of the whole."""
    return np.unpackbits(qh_u8, axis=1, bitorder="little")[:, :n_bits].astype(np.int64)


def dequantize(raw, ttype, n_elems):
    """Raw tensor bytes (uint8) -> flat float64 values, as GGML dequantizes them."""
    if ttype == GGML_F32:
        return raw.view("<f4").astype(np.float64)
    if ttype == GGML_F16:
        return raw.view("<f2").astype(np.float64)
    if ttype == GGML_BF16:
        # bf16 is the top half of an f32.
        return (raw.view("<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)
    block_elems, block_bytes = GGML_BLOCKS[ttype]
    blocks = raw.reshape(n_elems // block_elems, block_bytes)
    half = lambda lo: f16_to_f64(blocks[:, lo:lo + 2].reshape(-1, 1, 2))  # (blocks, 1)
    if ttype == GGML_Q8_0:
        q = blocks[:, 2:34].view(np.int8).astype(np.float64)
        return (q * half(0)).reshape(-1)
    if ttype in (GGML_Q4_0, GGML_Q4_1):
        # Low nibbles are elements 0..15 of the block, high nibbles 16..31.
        q = low_high_nibbles(blocks[:, -16:]).astype(np.float64)
        if ttype == GGML_Q4_0:
            return ((q - 8.0) * half(0)).reshape(-1)
        return (q * half(0) + half(2)).reshape(-1)
    if ttype in (GGML_Q5_0, GGML_Q5_1):
        # 4 low bits as in Q4, the fifth bit of element i is bit i of the 32-bit qh.
        qh_at = 2 if ttype == GGML_Q5_0 else 4
        high = bits_of(blocks[:, qh_at:qh_at + 4], 32)
        q = (low_high_nibbles(blocks[:, qh_at + 4:qh_at + 20]).astype(np.int64) | (high << 4)).astype(np.float64)
        if ttype == GGML_Q5_0:
            return ((q - 16.0) * half(0)).reshape(-1)
        return (q * half(0) + half(2)).reshape(-1)
    if ttype in (GGML_Q4_K, GGML_Q5_K):
        # d, dmin, 12 bytes of scales/mins, [Q5_K: 32 bytes of fifth bits], 128 bytes of nibbles.
        # Each 64 elements take 32 nibble bytes: low nibbles are the first 32, high the next 32.
        d, dmin = half(0), half(2)
        scales, mins = k_scales_mins(blocks[:, 4:16])
        qs_at = 16 if ttype == GGML_Q4_K else 48
        qs = blocks[:, qs_at:qs_at + 128].reshape(-1, 4, 32)
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.int64).reshape(-1, 8, 32)  # sub-block j
        if ttype == GGML_Q5_K:
            # Bit j of qh[l] is the fifth bit of element l of sub-block j.
            qh = blocks[:, 16:48].astype(np.int64)  # (blocks, 32)
            fifth = (qh[:, None, :] >> np.arange(8)[None, :, None]) & 1  # (blocks, 8, 32)
            q = q | (fifth << 4)
        y = (d * scales)[:, :, None] * q - (dmin * mins)[:, :, None]
        return y.reshape(-1)
    if ttype == GGML_Q6_K:
        # 128 bytes of low nibbles, 64 of 2-bit highs, 16 int8 scales (one per 16 elements), d.
        ql = blocks[:, 0:128].astype(np.int64).reshape(-1, 2, 64)
        qh = blocks[:, 128:192].astype(np.int64).reshape(-1, 2, 32)
        scales = blocks[:, 192:208].view(np.int8).astype(np.float64)  # (blocks, 16)
        d = half(208)
        out = np.empty((blocks.shape[0], 2, 128), dtype=np.int64)
        # In each half of 128: element l (l < 32) of quarter k takes the low or high
        # nibble of ql[l] / ql[l + 32] and bits 2k..2k+1 of qh[l].
        for k, (lo_at, shift) in enumerate(((0, 0), (32, 0), (0, 4), (32, 4))):
            low = (ql[:, :, lo_at:lo_at + 32] >> shift) & 0x0F
            high = (qh >> (2 * k)) & 3
            out[:, :, 32 * k:32 * k + 32] = (low | (high << 4)) - 32
        y = out.reshape(-1, 16, 16).astype(np.float64) * (d * scales)[:, :, None]
        return y.reshape(-1)
    raise ValueError(f"unsupported tensor type {ttype}")


class GgufWeights:
    """Tensors of a GGUF file, dequantized to float64 on demand.

    A tensor with dims [ne0, ne1] is returned as an ne1 x ne0 matrix (ne0 is the row length)."""

    def __init__(self, path):
        self.path = path
        self.meta, self.tensors, self.buf = parse_gguf(path)

    def has(self, name):
        return name in self.tensors

    def get(self, name):
        dims, ttype, offset = self.tensors[name]
        if ttype not in GGML_BLOCKS:
            raise ValueError(f"{self.path}: tensor {name}: unsupported type {ttype}")
        n = int(np.prod(dims))
        block_elems, block_bytes = GGML_BLOCKS[ttype]
        raw = np.asarray(self.buf[offset:offset + n // block_elems * block_bytes])
        return dequantize(raw, ttype, n).reshape(list(reversed(dims)))


# ---------------------------------------------------------------- models

class Config:
    def __init__(self, dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
                 eps=1e-5, rope_base=10000.0, rope_dim=None, arch="llama", head_dim=None,
                 sliding_window=0):
        self.dim, self.hidden_dim, self.n_layers = dim, hidden_dim, n_layers
        self.n_heads, self.n_kv_heads, self.vocab_size = n_heads, n_kv_heads, vocab_size
        self.head_dim = head_dim or dim // n_heads
        self.eps, self.rope_base = eps, rope_base
        self.rope_dim = rope_dim or self.head_dim
        self.arch, self.sliding_window = arch, sliding_window

    def local_layer(self, l):
        """gemma3: five sliding-window layers, then one global one."""
        return self.arch == "gemma3" and (l + 1) % 6 != 0


class Layer:
    def __init__(self, attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_down, w_up, **extra):
        self.attn_norm, self.wq, self.wk, self.wv, self.wo = attn_norm, wq, wk, wv, wo
        self.ffn_norm, self.w_gate, self.w_down, self.w_up = ffn_norm, w_gate, w_down, w_up
        # qwen2: bq, bk, bv; gemma3: q_norm, k_norm, post_attn_norm, post_ffn_norm
        for name in ("bq", "bk", "bv", "q_norm", "k_norm", "post_attn_norm", "post_ffn_norm"):
            setattr(self, name, extra.get(name))


class Model:
    """Config + per-layer weights (functions returning a Layer; matrices are out x in) +
    embedding, final norm, classifier."""

    def __init__(self, config, embedding, layers, final_norm, classifier):
        self.config, self.embedding, self.layers = config, embedding, layers
        self.final_norm, self.classifier = final_norm, classifier


def load_llama2c(path):
    raw = np.fromfile(path, dtype=np.uint8)
    header = raw[:28].view("<i4")
    dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len = (int(v) for v in header)
    shared_classifier = vocab_size > 0
    vocab_size = abs(vocab_size)
    cfg = Config(dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size)
    kv_dim = cfg.head_dim * n_kv_heads
    floats = raw[28:].view("<f4").astype(np.float64)
    cursor = [0]

    def take(*shape):
        n = int(np.prod(shape))
        out = floats[cursor[0]:cursor[0] + n].reshape(shape)
        cursor[0] += n
        return out

    embedding = take(vocab_size, dim)
    rms_att = take(n_layers, dim)
    wq = take(n_layers, dim, dim)
    wk = take(n_layers, kv_dim, dim)
    wv = take(n_layers, kv_dim, dim)
    wo = take(n_layers, dim, dim)
    rms_ffn = take(n_layers, dim)
    w1 = take(n_layers, hidden_dim, dim)
    w2 = take(n_layers, dim, hidden_dim)
    w3 = take(n_layers, hidden_dim, dim)
    final_norm = take(dim)
    take(seq_len, cfg.head_dim // 2)  # freq_cis_real: unused, RoPE is computed
    take(seq_len, cfg.head_dim // 2)  # freq_cis_imag
    classifier = embedding if shared_classifier else take(vocab_size, dim)
    layers = [lambda l=l: Layer(rms_att[l], wq[l], wk[l], wv[l], wo[l], rms_ffn[l], w1[l], w2[l], w3[l])
              for l in range(n_layers)]
    return Model(cfg, embedding, layers, final_norm, classifier)


def load_gguf(path):
    w = GgufWeights(path)
    arch = w.meta.get("general.architecture")
    if arch not in ("llama", "qwen2", "gemma3"):
        raise ValueError(f"{path}: architecture {arch!r}, only llama, qwen2 and gemma3 are supported")

    def key(name, default=None):
        value = w.meta.get(arch + "." + name, default)
        if value is None:
            raise ValueError(f"{path}: metadata {arch}.{name} missing")
        return value

    n_heads = int(key("attention.head_count"))
    embedding = w.get("token_embd.weight")
    cfg = Config(dim=int(key("embedding_length")),
                 hidden_dim=int(key("feed_forward_length")),
                 n_layers=int(key("block_count")),
                 n_heads=n_heads,
                 n_kv_heads=int(key("attention.head_count_kv", n_heads)),
                 vocab_size=embedding.shape[0],
                 eps=float(key("attention.layer_norm_rms_epsilon", 1e-5)),
                 rope_base=float(key("rope.freq_base", 10000.0)),
                 rope_dim=int(key("rope.dimension_count", 0)) or None,
                 arch=arch,
                 head_dim=int(key("attention.key_length", 0)) or None,
                 sliding_window=int(key("attention.sliding_window", 0)))
    def layer(l):
        p = f"blk.{l}."
        extra = {}
        if arch == "qwen2":
            extra = {"bq": w.get(p + "attn_q.bias"), "bk": w.get(p + "attn_k.bias"), "bv": w.get(p + "attn_v.bias")}
        if arch == "gemma3":
            extra = {"q_norm": w.get(p + "attn_q_norm.weight"), "k_norm": w.get(p + "attn_k_norm.weight"),
                     "post_attn_norm": w.get(p + "post_attention_norm.weight"),
                     "post_ffn_norm": w.get(p + "post_ffw_norm.weight")}
        return Layer(*(w.get(p + n + ".weight") for n in (
            "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
            "ffn_norm", "ffn_gate", "ffn_down", "ffn_up")), **extra)

    # Dequantized one layer at a time (float64 copies of every layer of a 1.5B model need 12 GB).
    layers = [lambda l=l: layer(l) for l in range(cfg.n_layers)]
    classifier = w.get("output.weight") if w.has("output.weight") else embedding
    return Model(cfg, embedding, layers, w.get("output_norm.weight"), classifier)


# ---------------------------------------------------------------- forward pass

def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, cfg, base):
    """x: (T, heads, head_dim). Rotates pairs of the first rope_dim dims: adjacent
    pairs (x[2i], x[2i+1]) for llama, the halves (x[i], x[i + rope_dim/2]) for qwen2 and gemma3."""
    half = cfg.rope_dim // 2
    freqs = base ** (-2.0 * np.arange(half) / cfg.rope_dim)
    angles = positions[:, None] * freqs[None, :]  # (T, half)
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    out = x.copy()
    if cfg.arch == "llama":
        first, second = slice(0, cfg.rope_dim, 2), slice(1, cfg.rope_dim, 2)
    else:
        first, second = slice(0, half), slice(half, cfg.rope_dim)
    a, b = x[..., first], x[..., second]
    out[..., first] = a * cos - b * sin
    out[..., second] = a * sin + b * cos
    return out


def attention(q, k, v, cfg, window):
    """q: (T, H, hd); k, v: (T, KVH, hd). Causal grouped-query attention -> (T, H*hd);
    with a window, position t sees only positions s with t - s < window."""
    T = q.shape[0]
    group = cfg.n_heads // cfg.n_kv_heads
    k = np.repeat(k, group, axis=1)  # query head h reads kv head h // group
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(cfg.head_dim)
    t, s = np.arange(T)[:, None], np.arange(T)[None, :]
    masked = (s > t) | ((t - s >= window) if window else False)
    scores = np.where(masked, -np.inf, scores)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    return np.einsum("hts,shd->thd", probs, v).reshape(T, -1)


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def forward(model, tokens):
    """Logits (T, vocab) for every position, tokens fed from position 0."""
    cfg = model.config
    T = len(tokens)
    positions = np.arange(T, dtype=np.float64)
    x = model.embedding[np.asarray(tokens)]
    if cfg.arch == "gemma3":
        x = x * np.sqrt(cfg.dim)
    for l, load_layer in enumerate(model.layers):
        layer = load_layer()
        local = cfg.local_layer(l)
        base = 10000.0 if local else cfg.rope_base
        h = rms_norm(x, layer.attn_norm, cfg.eps)
        q, k, v = h @ layer.wq.T, h @ layer.wk.T, h @ layer.wv.T
        if layer.bq is not None:
            q, k, v = q + layer.bq, k + layer.bk, v + layer.bv
        q = q.reshape(T, cfg.n_heads, cfg.head_dim)
        k = k.reshape(T, cfg.n_kv_heads, cfg.head_dim)
        v = v.reshape(T, cfg.n_kv_heads, cfg.head_dim)
        if layer.q_norm is not None:
            q, k = rms_norm(q, layer.q_norm, cfg.eps), rms_norm(k, layer.k_norm, cfg.eps)
        q, k = rope(q, positions, cfg, base), rope(k, positions, cfg, base)
        o = attention(q, k, v, cfg, cfg.sliding_window if local else 0) @ layer.wo.T
        if layer.post_attn_norm is not None:
            o = rms_norm(o, layer.post_attn_norm, cfg.eps)
        x = x + o
        h = rms_norm(x, layer.ffn_norm, cfg.eps)
        act = gelu_tanh if cfg.arch == "gemma3" else silu
        f = (act(h @ layer.w_gate.T) * (h @ layer.w_up.T)) @ layer.w_down.T
        if layer.post_ffn_norm is not None:
            f = rms_norm(f, layer.post_ffn_norm, cfg.eps)
        x = x + f
    return rms_norm(x, model.final_norm, cfg.eps) @ model.classifier.T


# ---------------------------------------------------------------- command line

def load_model(path):
    with open(path, "rb") as f:
        is_gguf = f.read(4) == GGUF_MAGIC
    return load_gguf(path) if is_gguf else load_llama2c(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="llama2.c .bin or GGUF file")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids, fed from position 0")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--all-positions", action="store_true", help="write the logits of every position")
    args = ap.parse_args()

    tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
    model = load_model(args.model)
    bad = [t for t in tokens if not 0 <= t < model.config.vocab_size]
    if not tokens or bad:
        sys.exit(f"llama_ref: token ids must be in [0, {model.config.vocab_size}): {bad or 'none given'}")
    logits = forward(model, tokens)
    positions = list(range(len(tokens))) if args.all_positions else [len(tokens) - 1]

    # Written by hand so that each logit takes ~10 characters, not Python's 17-digit repr.
    rows = ",\n  ".join("[" + ",".join(f"{v:.9g}" for v in logits[p]) + "]" for p in positions)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write('{"model": %s,\n "tokens": %s,\n "positions": %s,\n "logits": [\n  %s]}\n' % (
            json.dumps(os.path.basename(args.model)), json.dumps(tokens), json.dumps(positions), rows))


if __name__ == "__main__":
    main()
