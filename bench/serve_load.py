#!/usr/bin/env python3
"""Throughput and time to first token of an OpenAI-compatible server against concurrency.

  bench/serve_load.py --model .models/SmolLM2-135M-Instruct.Q4_1.gguf      # starts chorus serve on it
  bench/serve_load.py --url http://127.0.0.1:8080 --expert smollm2         # a running server (chorus, llama-server, ...)
  bench/serve_load.py --model A.gguf --swap-model B.gguf                    # time to first token, resident vs swapped in

Each level runs C clients at once, each sending --requests streamed chat
completions one after another (greedy, at most --max-tokens; the tokens
counted are those the server reports in usage). Prints one JSON object:
{"server", "levels": [{concurrency, requests, seconds, completion_tokens,
tokens_per_second, ttft_median, ttft_p90, per_request_tokens_per_second}]}.
With --swap-model, instead: two experts under a resident budget that holds
only the larger, and the time to first token of A when resident against A
right after a request to B evicted it ({"swap": {resident_ttft_median,
swapped_ttft_median, ratio}}).
A benchmark, not a test: run it on a quiet machine. Standard library only.
"""
import argparse
import http.client
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlparse

PROMPTS = ["Name three fruits.", "What is the capital of France?", "Describe the sea in one sentence.",
           "Give two uses of a paperclip.", "What do bees make?", "Why is the sky blue?",
           "Write a haiku about rain.", "List three colors."]


def one_request(host, port, expert, prompt, max_tokens):
    """Streams one chat completion: (seconds to the first content, total seconds, completion tokens)."""
    body = json.dumps({"model": expert, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                       "temperature": 0, "stream": True, "stream_options": {"include_usage": True}})
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    first = None
    chunks = 0
    usage = None
    for raw in resp:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        if event.get("usage"):
            usage = event["usage"]
        for choice in event.get("choices") or []:
            if (choice.get("delta") or {}).get("content"):
                chunks += 1
                if first is None:
                    first = time.perf_counter() - start
    conn.close()
    total = time.perf_counter() - start
    return first if first is not None else total, total, usage["completion_tokens"] if usage else chunks


def run_level(host, port, expert, concurrency, requests, max_tokens):
    results, errors = [], []
    lock = threading.Lock()

    def client(k):
        for r in range(requests):
            try:
                res = one_request(host, port, expert, PROMPTS[(k + r) % len(PROMPTS)], max_tokens)
                with lock:
                    results.append(res)
            except Exception as e:  # counted and reported with the level
                with lock:
                    errors.append(repr(e))

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    ttfts = sorted(r[0] for r in results)
    tokens = sum(r[2] for r in results)
    return {"concurrency": concurrency, "requests": len(results), "errors": errors[:3], "seconds": round(seconds, 3),
            "completion_tokens": tokens, "tokens_per_second": round(tokens / seconds, 2),
            "ttft_median": round(statistics.median(ttfts), 4) if ttfts else None,
            "ttft_p90": round(ttfts[math.ceil(0.9 * len(ttfts)) - 1], 4) if ttfts else None,  # nearest rank
            "per_request_tokens_per_second": round(statistics.median(r[2] / r[1] for r in results), 2) if results else None}


def start_chorus(chorus, models, threads, max_running, tmp, resident="4GiB"):
    """chorus serve on `models` {name: file}; returns (process, port)."""
    config = os.path.join(tmp, "experts.json")
    with open(config, "w") as f:
        json.dump({"experts": [{"name": n, "model": os.path.abspath(m), "categories": [n]} for n, m in models.items()],
                   "store": {"resident_bytes": resident, "host_bytes": "8GiB"}}, f)
    proc = subprocess.Popen([chorus, "serve", "--experts", config, "--port", "0", "--threads", str(threads),
                             "--max-running", str(max_running)], stdout=subprocess.PIPE, text=True)
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    if not match:
        proc.kill()
        sys.exit("serve_load.py: chorus serve did not start")
    return proc, int(match.group(1))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def resident_bytes(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return int(float(re.search(r'^chorus_tier_used_bytes\{tier="resident"\} (\S+)$', text, re.M).group(1)))


def swap_ttft(a, rounds=3):
    """Time to first token of expert A resident, and swapped in right after B evicted it."""
    models = {"a": a.model, "b": a.swap_model}
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_chorus(a.chorus, models, a.threads, 1, tmp)
        try:  # each expert's resident size, to give the second server room for the larger only
            sizes = []
            for name in models:
                before = resident_bytes(port)
                one_request("127.0.0.1", port, name, "Hello.", 1)
                sizes.append(resident_bytes(port) - before)
        finally:
            stop(proc)
        proc, port = start_chorus(a.chorus, models, a.threads, 1, tmp, resident=max(sizes) + (1 << 20))
        try:
            resident, swapped = [], []
            for _ in range(rounds):
                one_request("127.0.0.1", port, "a", "Hello.", 1)
                resident.append(one_request("127.0.0.1", port, "a", PROMPTS[0], 1)[0])
                one_request("127.0.0.1", port, "b", "Hello.", 1)
                swapped.append(one_request("127.0.0.1", port, "a", PROMPTS[0], 1)[0])
        finally:
            stop(proc)
    r, w = statistics.median(resident), statistics.median(swapped)
    return {"resident_bytes": sizes, "resident_ttft_median": round(r, 4), "swapped_ttft_median": round(w, 4),
            "ratio": round(w / r, 2)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="a running server; else chorus serve is started on --model")
    p.add_argument("--expert", default="bench", help="the model name to request (with --url)")
    p.add_argument("--model", help="model file for the chorus server this script starts")
    p.add_argument("--chorus", default="build/chorus")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--concurrency", default="1,4,8,16")
    p.add_argument("--requests", type=int, default=2, help="requests per client per level")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--swap-model", help="measure a swap instead: experts --model and this under a tight budget")
    a = p.parse_args()
    if a.swap_model:
        print(json.dumps({"swap": swap_ttft(a)}, indent=2))
        return
    levels = [int(c) for c in a.concurrency.split(",")]
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if a.url:
            u = urlparse(a.url)
            host, port, server = u.hostname, u.port or 80, a.url
        else:
            if not a.model:
                sys.exit("serve_load.py: give --url or --model")
            proc, port = start_chorus(a.chorus, {"bench": a.model}, a.threads, max(levels), tmp)
            host, server = "127.0.0.1", f"chorus serve {a.model}"
        try:
            one_request(host, port, a.expert, "Hello.", 4)  # warm up: load the weights
            out = {"server": server, "threads": a.threads, "max_tokens": a.max_tokens,
                   "levels": [run_level(host, port, a.expert, c, a.requests, a.max_tokens) for c in levels]}
        finally:
            if proc:
                stop(proc)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
