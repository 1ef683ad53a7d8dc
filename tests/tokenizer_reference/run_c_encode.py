#!/usr/bin/env python3
"""A line-by-line transliteration of llama2.c run.c's encode() (BOS on, EOS off),
used to produce the expected ids in tests/test_tokenizers.cpp independently of
chorus. It keeps run.c's quadratic merge loop on purpose.

    python3 run_c_encode.py fixtures/models/stories260K/tok512.bin 512 "text" ...
"""
import struct
import sys


def load(path, vocab_size):
    with open(path, "rb") as f:
        data = f.read()
    pos = 4  # max_token_length
    vocab, scores = [], []
    for _ in range(vocab_size):
        score, length = struct.unpack_from("<fi", data, pos)
        pos += 8
        vocab.append(data[pos:pos + length])
        scores.append(score)
        pos += length
    return vocab, scores


def encode(vocab, scores, text):
    lookup = {}
    for i, piece in enumerate(vocab):
        lookup.setdefault(piece, i)
    tokens = [1]  # BOS
    if text:
        tokens.append(lookup.get(b" ", -1))  # the dummy prefix
    buf = b""
    for i, byte in enumerate(text):
        if byte & 0xC0 != 0x80:
            buf = b""
        buf += bytes([byte])
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if nxt & 0xC0 == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            tokens.append(lookup[buf])
        else:
            tokens.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for i in range(len(tokens) - 1):
            merged = lookup.get(vocab[tokens[i]] + vocab[tokens[i + 1]], -1)
            if merged != -1 and scores[merged] > best_score:
                best_score, best_id, best_idx = scores[merged], merged, i
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


if __name__ == "__main__":
    vocab, scores = load(sys.argv[1], int(sys.argv[2]))
    for text in sys.argv[3:]:
        print(repr(text), encode(vocab, scores, text.encode("utf-8")))
