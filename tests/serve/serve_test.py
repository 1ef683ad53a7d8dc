#!/usr/bin/env python3
"""chorus serve end to end, over loopback: the official `openai` client and raw HTTP.

  serve_test.py --chorus BIN --models DIR --fixtures DIR --router FILE api   # SmolLM2: every route and refusal
  serve_test.py --chorus BIN --models DIR --fixtures DIR --router FILE load  # batching, hot swap, soak

Each suite starts its servers on ephemeral ports (--port 0) and stops them with
SIGTERM, which must exit 0. Exits 77 (ctest: skipped) when `openai` is not installed.
"""
import argparse
import http.client
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import openai
except ImportError:
    print("SKIPPED: the openai package is not installed (pip install -r tests/serve/requirements.txt)")
    sys.exit(77)

ARGS = None
CHAT_PROMPTS = ["What is the capital of France?", "Name three fruits.", "What color is the sky?",
                "Say hello in Spanish.", "What is 2 plus 2?", "Name a large animal.",
                "What do bees make?", "Which planet is closest to the sun?"]


class Server:
    """One `chorus serve` process on an ephemeral port."""

    def __init__(self, config, *extra):
        cmd = [ARGS.chorus, "serve", "--experts", config, "--port", "0", "--threads", "2", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"chorus serve did not start: {line!r}")
        self.port = int(match.group(1))
        self.base = f"http://127.0.0.1:{self.port}/v1"

    def client(self, **kw):
        # Retries cover a request racing the server's close of an idle keep-alive connection.
        return openai.OpenAI(base_url=self.base, api_key=kw.pop("api_key", "unused"), max_retries=2, timeout=120, **kw)

    def request(self, method, path, body=None, headers=None):
        """Raw HTTP: (status, headers, body text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        conn.close()
        return r.status, dict(r.getheaders()), text

    def metrics(self):
        status, _, text = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def stop(self):
        """SIGTERM: stop accepting, finish in-flight work, exit 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self.proc.stdout.close()
        return self.proc.returncode


def write_config(directory, experts, resident="512MiB", host="1GiB"):
    """An experts config of `experts` [(name, model, tokenizer or None, categories)] in `directory`."""
    entries = []
    for name, model, tokenizer, categories in experts:
        e = {"name": name, "model": model, "categories": categories, "generation": {"max_tokens": 24, "temperature": 0}}
        if tokenizer:
            e["tokenizer"] = tokenizer
        entries.append(e)
    path = os.path.join(directory, "experts.json")
    with open(path, "w") as f:
        json.dump({"experts": entries, "store": {"resident_bytes": resident, "host_bytes": host},
                   "fallback": experts[0][0], "on_out_of_domain": "refuse"}, f)
    return path


def fixture_model(name):
    d = os.path.join(ARGS.fixtures, "models", name)
    return (name, os.path.join(d, name + ".bin"), os.path.join(d, "tok512.bin"), ["stories" if name == "stories260K" else "dreams"])


def sum_metric(metrics, prefix):
    return sum(v for k, v in metrics.items() if k.startswith(prefix))


def error_of(status_headers_body):
    body = json.loads(status_headers_body[2])
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


class Api(unittest.TestCase):
    """Every route and every refusal, on SmolLM2 (+ stories260K for the composition)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        smollm2 = os.path.join(ARGS.models, "SmolLM2-135M-Instruct.Q4_1.gguf")
        config = write_config(cls.tmp.name, [("smollm2", smollm2, None, ["general"]), fixture_model("stories260K")])
        cls.server = Server(config, "--router", ARGS.router, "--max-prompt-tokens", "200", "--max-body-bytes", "65536")
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.tmp.cleanup()

    def chat(self, content, **kw):
        return self.client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": content}],
                                                   temperature=0, **kw)

    def test_models_list(self):
        self.assertEqual([m.id for m in self.client.models.list()], ["smollm2", "stories260K", "chorus"])
        self.assertEqual(self.client.models.retrieve("smollm2").id, "smollm2")

    def test_chat_completion(self):
        r = self.chat("What is the capital of France?", max_tokens=20)
        self.assertEqual(r.choices[0].message.role, "assistant")
        self.assertEqual(r.choices[0].message.content, "The capital of France is Paris.")
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertGreater(r.usage.prompt_tokens, 10)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens)

    def test_text_completion_stops_at_max_tokens(self):
        r = self.client.completions.create(model="stories260K", prompt="Once upon a time", max_tokens=12, temperature=0)
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 12)
        self.assertTrue(r.choices[0].text)

    def test_streaming_equals_the_whole_answer(self):
        whole = self.chat("Name three fruits.", max_tokens=24).choices[0].message.content
        chunks = list(self.chat("Name three fruits.", max_tokens=24, stream=True, stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, whole)
        self.assertEqual([c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length"), True)
        self.assertEqual(chunks[-1].usage.completion_tokens > 0, True)
        status, headers, body = self.server.request("POST", "/v1/completions",
                                                    {"model": "stories260K", "prompt": "Tim", "max_tokens": 4, "stream": True})
        self.assertEqual(headers["Content-Type"], "text/event-stream")
        self.assertTrue(body.endswith("data: [DONE]\n\n"), body)

    def test_logprobs(self):
        # Chat: greedy, so each token is its own most likely alternative; the
        # tokens spell the answer; the stream carries the same numbers.
        r = self.chat("What is the capital of France?", max_tokens=20, logprobs=True, top_logprobs=3)
        content = r.choices[0].logprobs.content
        self.assertEqual("".join(t.token for t in content), r.choices[0].message.content)
        self.assertEqual(len(content), r.usage.completion_tokens)
        for t in content:
            self.assertEqual(len(t.top_logprobs), 3)
            self.assertEqual(t.top_logprobs[0].token, t.token)
            self.assertAlmostEqual(t.top_logprobs[0].logprob, t.logprob, places=5)
            self.assertLessEqual(t.logprob, 0.0)
            self.assertEqual(bytes(t.bytes).decode("utf-8", "replace"), t.token)
            lps = [a.logprob for a in t.top_logprobs]
            self.assertEqual(lps, sorted(lps, reverse=True))
        streamed = [t for c in self.chat("What is the capital of France?", max_tokens=20, logprobs=True, top_logprobs=3,
                                         stream=True) if c.choices and c.choices[0].logprobs
                    for t in c.choices[0].logprobs.content]
        self.assertEqual([(t.token, round(t.logprob, 4)) for t in streamed], [(t.token, round(t.logprob, 4)) for t in content])
        # Without top_logprobs: the token's own only.
        self.assertEqual(self.chat("Hi", max_tokens=3, logprobs=True).choices[0].logprobs.content[0].top_logprobs, [])
        self.assertIsNone(self.chat("Hi", max_tokens=3).choices[0].logprobs)
        # Legacy completions: logprobs=N, offsets into the text.
        c = self.client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=6, temperature=0,
                                           logprobs=2).choices[0]
        lp = c.logprobs
        self.assertEqual("".join(lp.tokens), c.text)
        self.assertEqual(lp.text_offset, [sum(len(t.encode()) for t in lp.tokens[:i]) for i in range(len(lp.tokens))])
        for token, logprob, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
            self.assertEqual(len(top), 2)
            self.assertAlmostEqual(top[token], logprob, places=5)
        # Out of range, or top_logprobs without logprobs: refused, naming the field.
        for body, field in (({"logprobs": 6}, "logprobs"), ({"top_logprobs": 2}, "top_logprobs")):
            path = "/v1/completions" if field == "logprobs" else "/v1/chat/completions"
            base = {"model": "smollm2", "prompt": "x"} if field == "logprobs" else \
                {"model": "smollm2", "messages": [{"role": "user", "content": "x"}]}
            status, _, text = self.server.request("POST", path, {**base, **body})
            self.assertEqual(status, 400, text)
            self.assertEqual(error_of((status, _, text))["param"], field)

    def test_stop_strings(self):
        whole = self.chat("What is the capital of France?", max_tokens=20).choices[0].message.content
        cut = self.chat("What is the capital of France?", max_tokens=20, stop=[" Paris"])
        self.assertEqual(cut.choices[0].message.content, whole[:whole.index(" Paris")])
        self.assertEqual(cut.choices[0].finish_reason, "stop")
        streamed = "".join(c.choices[0].delta.content or "" for c in
                           self.chat("What is the capital of France?", max_tokens=20, stop=[" Paris"], stream=True))
        self.assertEqual(streamed, cut.choices[0].message.content)

    def test_json_output_parses(self):
        r = self.chat("Give the name and age of a person as JSON.", max_tokens=60, response_format={"type": "json_object"})
        self.assertIsInstance(json.loads(r.choices[0].message.content), dict)
        schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                                   "city": {"enum": ["Paris", "Rome"]}}, "required": ["name", "age"]}
        r = self.chat("Describe a person living in Paris.", max_tokens=60,
                      response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
        doc = json.loads(r.choices[0].message.content)
        self.assertEqual(list(doc), ["name", "age", "city"])
        self.assertIsInstance(doc["age"], int)
        r = self.client.completions.create(model="smollm2", prompt="Is the sky blue? Answer:", max_tokens=5, temperature=0,
                                           extra_body={"response_format": {"type": "gbnf", "grammar": 'root ::= " yes" | " no"'}})
        self.assertIn(r.choices[0].text, (" yes", " no"))

    def test_composition(self):
        r = self.client.chat.completions.create(model="chorus", messages=[{"role": "user", "content": "Tell me a story about a brave mouse."}])
        self.assertTrue(r.choices[0].message.content)
        report = r.model_extra["chorus"]
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["nodes"][-1]["status"], "done")
        self.assertIn("plan", report)
        streamed = "".join(c.choices[0].delta.content or "" for c in self.client.chat.completions.create(
            model="chorus", stream=True, messages=[{"role": "user", "content": "Tell me a story about a brave mouse."}]))
        self.assertEqual(streamed, r.choices[0].message.content)

    def test_refusals(self):
        s = self.server
        msg = [{"role": "user", "content": "hi"}]
        cases = [
            (("POST", "/v1/chat/completions", {"model": "nope", "messages": msg}), 404, "model", "model_not_found"),
            (("POST", "/v1/chat/completions", "{not json"), 400, None, "invalid_json"),
            (("POST", "/v1/completions", "[" * 30000 + "]" * 30000), 400, None, "invalid_json"),  # deep, not an object
            (("POST", "/v1/chat/completions", {"model": "smollm2", "messages": "hi"}), 400, "messages", None),
            (("POST", "/v1/chat/completions", {"model": "smollm2", "messages": msg, "max_tokens": "5"}), 400, "max_tokens", None),
            (("POST", "/v1/chat/completions", {"model": "smollm2", "messages": msg, "tools": []}), 400, "tools", None),
            (("POST", "/v1/completions", {"model": "smollm2", "prompt": "word " * 300}), 400, "prompt", "context_length_exceeded"),
            (("POST", "/v1/completions", {"model": "smollm2", "prompt": "x" * 70000}), 413, None, "request_too_large"),
            (("POST", "/v1/completions", {"model": "smollm2", "prompt": "x", "response_format": {"type": "gbnf", "grammar": "root ::= ("}}),
             400, "response_format", None),
            (("POST", "/v1/chat/completions", {"model": "chorus", "messages": msg, "temperature": 0}), 400, "temperature", None),
            (("GET", "/v1/nothing", None), 404, None, "unknown_url"),
            (("GET", "/v1/chat/completions", None), 405, None, "method_not_allowed"),
        ]
        for (method, path, body), status, param, code in cases:
            with self.subTest(path=path, status=status, param=param):
                got = s.request(method, path, body)
                self.assertEqual(got[0], status, got[2])
                error = error_of(got)
                self.assertEqual(error["param"], param)
                if code:
                    self.assertEqual(error["code"], code)
        self.assertIn("--max-prompt-tokens", error_of(s.request("POST", "/v1/completions", {"model": "smollm2", "prompt": "word " * 300}))["message"])
        with self.assertRaises(openai.NotFoundError):
            self.client.chat.completions.create(model="nope", messages=msg)
        with self.assertRaises(openai.BadRequestError):
            self.client.chat.completions.create(model="smollm2", messages=msg, n=2)
        self.assertEqual(s.request("GET", "/health")[0], 200)


class Guarded(unittest.TestCase):
    """--api-key, --max-queue 1, and a public address without a key."""

    def test_api_key_and_full_queue(self):
        with tempfile.TemporaryDirectory() as tmp:
            smollm2 = os.path.join(ARGS.models, "SmolLM2-135M-Instruct.Q4_1.gguf")
            config = write_config(tmp, [("smollm2", smollm2, None, ["general"])])
            server = Server(config, "--api-key", "sesame", "--max-queue", "1")
            try:
                self.assertEqual(server.request("GET", "/v1/models")[0], 401)
                self.assertEqual(server.request("GET", "/health")[0], 200)
                with self.assertRaises(openai.AuthenticationError):
                    server.client(api_key="wrong").models.list()
                client = server.client(api_key="sesame")
                self.assertEqual([m.id for m in client.models.list()], ["smollm2", "chorus"])
                # One long stream holds the only place; the next request gets 429 with Retry-After.
                stream = client.chat.completions.create(model="smollm2", max_tokens=300, temperature=0, stream=True,
                                                        messages=[{"role": "user", "content": "Tell me a long story."}])
                next(iter(stream))
                got = server.request("POST", "/v1/completions", {"model": "smollm2", "prompt": "x"},
                                     {"Authorization": "Bearer sesame"})
                self.assertEqual(got[0], 429, got[2])
                self.assertEqual(got[1]["Retry-After"], "1")
                self.assertEqual(error_of(got)["code"], "queue_full")
                stream.close()
            finally:
                self.assertEqual(server.stop(), 0)
            refused = subprocess.run([ARGS.chorus, "serve", "--experts", config, "--host", "0.0.0.0"],
                                     capture_output=True, text=True, timeout=60)
            self.assertEqual(refused.returncode, 1)
            self.assertIn("--api-key KEY is required", refused.stderr)


def run_concurrently(jobs):
    results = [None] * len(jobs)
    errors = []

    def run(i):
        try:
            results[i] = jobs[i]()
        except Exception as e:  # reported below, with the job's index
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def streamed_text(client, model, **kw):
    if model == "smollm2":
        stream = client.chat.completions.create(model=model, stream=True, temperature=0, **kw)
        return "".join(c.choices[0].delta.content or "" for c in stream)
    return "".join(c.choices[0].text for c in client.completions.create(model=model, stream=True, temperature=0, **kw))


def whole_text(client, model, **kw):
    if model == "smollm2":
        return client.chat.completions.create(model=model, temperature=0, **kw).choices[0].message.content
    return client.completions.create(model=model, temperature=0, **kw).choices[0].text


class Load(unittest.TestCase):
    """Concurrent clients are batched and answer as alone; experts swap within a tight budget; no leaks."""

    def assert_nothing_held(self, server):
        deadline = time.time() + 10
        while True:
            m = server.metrics()
            held = (m["chorus_requests_in_flight"], sum_metric(m, "chorus_kv_blocks_used"), m["chorus_pins_held"],
                    sum_metric(m, "chorus_running_sequences"))
            if held == (0, 0, 0, 0) or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(held, (0, 0, 0, 0), "in flight, KV blocks, pins, running sequences after the load")
        return m

    def test_eight_streams_on_one_expert_are_batched_and_exact(self):
        with tempfile.TemporaryDirectory() as tmp:
            smollm2 = os.path.join(ARGS.models, "SmolLM2-135M-Instruct.Q4_1.gguf")
            server = Server(write_config(tmp, [("smollm2", smollm2, None, ["general"])]))
            try:
                client = server.client()
                jobs = [dict(messages=[{"role": "user", "content": p}], max_tokens=24) for p in CHAT_PROMPTS]
                alone = [whole_text(client, "smollm2", **j) for j in jobs]
                steps_before = sum_metric(server.metrics(), "chorus_engine_steps_total")
                together = run_concurrently([lambda j=j: streamed_text(client, "smollm2", **j) for j in jobs])
                after = self.assert_nothing_held(server)
                self.assertEqual(together, alone)
                steps = sum_metric(after, "chorus_engine_steps_total") - steps_before
                tokens = 8 * 24
                self.assertLess(steps, tokens / 2, "8 concurrent streams took nearly as many forward passes as tokens: not batched")
            finally:
                self.assertEqual(server.stop(), 0)

    def test_two_experts_over_budget_swap_and_soak(self):
        with tempfile.TemporaryDirectory() as tmp:
            # Each 260K model fits the resident tier alone (1.06 and 0.93 MB), the two together do not.
            config = write_config(tmp, [fixture_model("stories260K"), fixture_model("aidreams260K")], resident="1500KiB", host="8MiB")
            server = Server(config, "--max-queue", "32")
            try:
                client = server.client()
                prompts = ["Once upon a time", "The cat", "I dreamed", "Lily saw", "One day", "The sun", "Tom was", "A bird"]
                jobs = [("stories260K" if i % 2 == 0 else "aidreams260K", dict(prompt=p, max_tokens=40)) for i, p in enumerate(prompts)]
                alone = [whole_text(client, m, **kw) for m, kw in jobs]
                evictions_before = server.metrics()["chorus_store_evictions_total"]
                together = run_concurrently([lambda m=m, kw=kw: streamed_text(client, m, **kw) for m, kw in jobs])
                self.assertEqual(together, alone)
                after = self.assert_nothing_held(server)
                self.assertGreater(after["chorus_store_evictions_total"], evictions_before, "no expert was swapped out")
                self.soak(server, jobs, alone)
            finally:
                self.assertEqual(server.stop(), 0)

    def soak(self, server, jobs, alone, count=300, seconds=60):
        """`count` small requests from 8 threads, about a third of them abandoned mid-way; bounded by `seconds`."""
        rng = random.Random(7)
        plan = [(rng.randrange(len(jobs)), rng.random() < 0.35, rng.random() * 0.05) for _ in range(count)]
        deadline = time.time() + seconds
        lock = threading.Lock()
        done = {"ok": 0, "abandoned": 0}

        def worker(slice_):
            for job, abandon, delay in slice_:
                if time.time() > deadline:
                    return
                model, kw = jobs[job]
                body = {"model": model, "prompt": kw["prompt"], "max_tokens": 40, "temperature": 0, "stream": abandon}
                if abandon:
                    sock = socket.create_connection(("127.0.0.1", server.port))
                    data = json.dumps(body).encode()
                    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
                    time.sleep(delay)
                    sock.close()
                    key = "abandoned"
                else:
                    status, _, text = server.request("POST", "/v1/completions", body)
                    assert status == 200, text
                    assert json.loads(text)["choices"][0]["text"] == alone[job]
                    key = "ok"
                with lock:
                    done[key] += 1

        run_concurrently([lambda s=plan[i::8]: worker(s) for i in range(8)])
        self.assertGreater(done["ok"], 50)
        self.assertGreater(done["abandoned"], 20)
        after = self.assert_nothing_held(server)
        self.assertGreater(after["chorus_client_disconnects_total"], 0)
        print(f"soak: {done['ok']} answered, {done['abandoned']} abandoned, "
              f"{int(after['chorus_client_disconnects_total'])} cancelled by disconnect", file=sys.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--chorus", required=True)
    parser.add_argument("--models", required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--router", required=True)
    parser.add_argument("suite", choices=["api", "load"])
    ARGS = parser.parse_args()
    for name in ("chorus", "models", "fixtures", "router"):  # the configs are written elsewhere
        setattr(ARGS, name, os.path.abspath(getattr(ARGS, name)))
    suites = [Api, Guarded] if ARGS.suite == "api" else [Load]
    loader = unittest.TestLoader()
    result = unittest.TextTestRunner(verbosity=2).run(unittest.TestSuite(loader.loadTestsFromTestCase(s) for s in suites))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
