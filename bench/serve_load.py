#!/usr/bin/env python3
"""Throughput and time to first token of an OpenAI-compatible server against concurrency.

  bench/serve_load.py --model .models/SmolLM2-135M-Instruct.Q4_1.gguf      # starts chorus serve on it
  bench/serve_load.py --url http://127.0.0.1:8080 --expert smollm2         # a running server (chorus, llama-server, ...)

Each level runs C clients at once, each sending --requests streamed chat
completions one after another (greedy, at most --max-tokens; the tokens
counted are those the server reports in usage). Prints one JSON object:
{"server", "levels": [{concurrency, requests, seconds, completion_tokens,
tokens_per_second, ttft_median, ttft_p90, per_request_tokens_per_second}]}.
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


def start_chorus(chorus, model, threads, max_running, tmp):
    config = os.path.join(tmp, "experts.json")
    with open(config, "w") as f:
        json.dump({"experts": [{"name": "bench", "model": os.path.abspath(model), "categories": ["general"]}],
                   "store": {"resident_bytes": "4GiB", "host_bytes": "4GiB"}}, f)
    proc = subprocess.Popen([chorus, "serve", "--experts", config, "--port", "0", "--threads", str(threads),
                             "--max-running", str(max_running)], stdout=subprocess.PIPE, text=True)
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    if not match:
        proc.kill()
        sys.exit("serve_load.py: chorus serve did not start")
    return proc, int(match.group(1))


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
    a = p.parse_args()
    levels = [int(c) for c in a.concurrency.split(",")]
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if a.url:
            u = urlparse(a.url)
            host, port, server = u.hostname, u.port or 80, a.url
        else:
            if not a.model:
                sys.exit("serve_load.py: give --url or --model")
            proc, port = start_chorus(a.chorus, a.model, a.threads, max(levels), tmp)
            host, server = "127.0.0.1", f"chorus serve {a.model}"
        try:
            one_request(host, port, a.expert, "Hello.", 4)  # warm up: load the weights
            out = {"server": server, "threads": a.threads, "max_tokens": a.max_tokens,
                   "levels": [run_level(host, port, a.expert, c, a.requests, a.max_tokens) for c in levels]}
        finally:
            if proc:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
