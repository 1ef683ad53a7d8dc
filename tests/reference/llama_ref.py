#!/usr/bin/python3
"""Independent numpy reference forward pass for Llama-family models.

It shares no code with chorus: its own GGUF v2/v3 parser, its own llama2.c
checkpoint reader, its own dequantizers and its own float64 forward pass, so
that agreement with the C++ runtime means something.

Usage:
    /usr/bin/python3 llama_ref.py --model PATH --tokens 1,2,3 --out FILE.json [--all-positions]

Inputs: a llama2.c checkpoint (.bin) or a GGUF file with the `llama`
architecture and tensors of type F32, F16, BF16, Q8_0, Q4_0 or Q4_1.
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

CTest fixtures (tests/CMakeLists.txt) write ${CMAKE_BINARY_DIR}/ref/<model>.json:
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
# type -> (elements per block, bytes per block)
GGML_BLOCKS = {
    GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2),
    GGML_Q8_0: (32, 34), GGML_Q4_0: (32, 18), GGML_Q4_1: (32, 20),
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


def dequantize(raw, ttype, n_elems):
    """Raw tensor bytes (uint8) -> flat float64 values, as GGML dequantizes them."""
    if ttype == GGML_F32:
        return raw.view("<f4").astype(np.float64)
    if ttype == GGML_F16:
        return raw.view("<f2").astype(np.float64)
    if ttype == GGML_BF16:
        # bf16 is the top half of an f32.
        return (raw.view("<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)
    blocks = raw.reshape(n_elems // 32, -1)
    if ttype == GGML_Q8_0:
        d = f16_to_f64(blocks[:, 0:2].reshape(-1, 1, 2))
        q = blocks[:, 2:34].view(np.int8).astype(np.float64)
        return (q * d).reshape(-1)
    if ttype in (GGML_Q4_0, GGML_Q4_1):
        d = f16_to_f64(blocks[:, 0:2].reshape(-1, 1, 2))
        qs = blocks[:, -16:]
        # Low nibbles are elements 0..15 of the block, high nibbles 16..31.
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float64)
        if ttype == GGML_Q4_0:
            return ((q - 8.0) * d).reshape(-1)
        m = f16_to_f64(blocks[:, 2:4].reshape(-1, 1, 2))
        return (q * d + m).reshape(-1)
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
                 eps=1e-5, rope_base=10000.0, rope_dim=None):
        self.dim, self.hidden_dim, self.n_layers = dim, hidden_dim, n_layers
        self.n_heads, self.n_kv_heads, self.vocab_size = n_heads, n_kv_heads, vocab_size
        self.head_dim = dim // n_heads
        self.eps, self.rope_base = eps, rope_base
        self.rope_dim = rope_dim or self.head_dim


class Layer:
    def __init__(self, attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_down, w_up):
        self.attn_norm, self.wq, self.wk, self.wv, self.wo = attn_norm, wq, wk, wv, wo
        self.ffn_norm, self.w_gate, self.w_down, self.w_up = ffn_norm, w_gate, w_down, w_up


class Model:
    """Config + per-layer weights (matrices are out x in) + embedding, final norm, classifier."""

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
    layers = [Layer(rms_att[l], wq[l], wk[l], wv[l], wo[l], rms_ffn[l], w1[l], w2[l], w3[l])
              for l in range(n_layers)]
    return Model(cfg, embedding, layers, final_norm, classifier)


def load_gguf(path):
    w = GgufWeights(path)
    arch = w.meta.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"{path}: architecture {arch!r}, only 'llama' is supported")

    def key(name, default=None):
        value = w.meta.get("llama." + name, default)
        if value is None:
            raise ValueError(f"{path}: metadata llama.{name} missing")
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
                 rope_dim=int(key("rope.dimension_count", 0)) or None)
    layers = []
    for l in range(cfg.n_layers):
        p = f"blk.{l}."
        layers.append(Layer(*(w.get(p + n + ".weight") for n in (
            "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
            "ffn_norm", "ffn_gate", "ffn_down", "ffn_up"))))
    classifier = w.get("output.weight") if w.has("output.weight") else embedding
    return Model(cfg, embedding, layers, w.get("output_norm.weight"), classifier)


# ---------------------------------------------------------------- forward pass

def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, cfg):
    """x: (T, heads, head_dim). Rotates adjacent pairs of the first rope_dim dims."""
    half = cfg.rope_dim // 2
    freqs = cfg.rope_base ** (-2.0 * np.arange(half) / cfg.rope_dim)
    angles = positions[:, None] * freqs[None, :]  # (T, half)
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    out = x.copy()
    even, odd = x[..., 0:cfg.rope_dim:2], x[..., 1:cfg.rope_dim:2]
    out[..., 0:cfg.rope_dim:2] = even * cos - odd * sin
    out[..., 1:cfg.rope_dim:2] = even * sin + odd * cos
    return out


def attention(q, k, v, cfg):
    """q: (T, H, hd); k, v: (T, KVH, hd). Causal grouped-query attention -> (T, H*hd)."""
    T = q.shape[0]
    group = cfg.n_heads // cfg.n_kv_heads
    k = np.repeat(k, group, axis=1)  # query head h reads kv head h // group
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(cfg.head_dim)
    scores = scores + np.triu(np.full((T, T), -np.inf), k=1)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    return np.einsum("hts,shd->thd", probs, v).reshape(T, -1)


def silu(x):
    return x / (1.0 + np.exp(-x))


def forward(model, tokens):
    """Logits (T, vocab) for every position, tokens fed from position 0."""
    cfg = model.config
    T = len(tokens)
    positions = np.arange(T, dtype=np.float64)
    x = model.embedding[np.asarray(tokens)]
    for layer in model.layers:
        h = rms_norm(x, layer.attn_norm, cfg.eps)
        q = rope((h @ layer.wq.T).reshape(T, cfg.n_heads, cfg.head_dim), positions, cfg)
        k = rope((h @ layer.wk.T).reshape(T, cfg.n_kv_heads, cfg.head_dim), positions, cfg)
        v = (h @ layer.wv.T).reshape(T, cfg.n_kv_heads, cfg.head_dim)
        x = x + attention(q, k, v, cfg) @ layer.wo.T
        h = rms_norm(x, layer.ffn_norm, cfg.eps)
        x = x + (silu(h @ layer.w_gate.T) * (h @ layer.w_up.T)) @ layer.w_down.T
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
