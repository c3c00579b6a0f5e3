"""Our serving path against llama.cpp's raw throughput on the same GGUF file (target: lose <= 5%).

Four sides decode the same 5-tool Hammer prompt greedily on the same model file, with the same
context parameters, each run a full prefill then decoding (no prompt cache reused):

* raw: a plain ``llama_decode`` loop through llama.cpp's C API (prompt in ``n_batch`` chunks,
  then one token at a time, greedy argmax), on its own context;
* backend: the llama.cpp backend ``hammer serve`` uses (``LlamaCppBackend.format`` +
  ``generate``: chat template, tokenizer, per-token ``Llama.eval``, argmax in Python), free;
* HTTP, free: the whole request through the official ``openai`` client against ``hammer
  serve``'s app (``create_app(..., constrained=False)``, uvicorn on loopback): JSON, request
  validation, the prompt rendered from the request, decoding, the answer parsed into
  ``tool_calls``; the same tokens as raw (checked);
* HTTP, constrained: the same request to the app as ``hammer serve`` runs it by default (under
  the tool grammar). Its answer differs from the free one (other tokens, usually fewer), so it
  is compared with raw's prefill plus as many raw decode steps as it generated.

Runs rotate (raw, backend, HTTP free, HTTP constrained, then starting one later, ...) so that a
change in the machine's load hits all; medians are reported.

    .venv/bin/python benchmarks/ondevice_overhead.py [--model X.gguf] [--threads N] [--tokens 128]

Without ``--model`` the embedded model is exported to Q4_K_M first (about a minute).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import llama_cpp
import numpy as np
import openai

from hammer_fc.bench import CALL_TOOLS
from hammer_fc.bench.prompts import bench_examples
from hammer_fc.formats.openai import openai_record
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.model_spec import resolve
from hammer_fc.schema import Example
from hammer_fc.serve.app import create_app
from hammer_fc.serve.server import BackgroundServer
from machine import machine_lines


class RawLoop:
    """Greedy decoding with nothing but llama.cpp's C API, on its own context."""

    def __init__(self, model: llama_cpp.llama_model_p, params: llama_cpp.llama_context_params) -> None:
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.n_batch = params.n_batch

    def _decode(self, tokens: list[int]) -> None:
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        if llama_cpp.llama_decode(self.ctx, llama_cpp.llama_batch_get_one(array, len(tokens))) != 0:
            raise RuntimeError("llama_decode failed")

    def run(self, prompt: list[int], max_new: int) -> tuple[float, float, list[int]]:
        """(prefill + first token seconds, decode seconds, generated tokens)."""
        llama_cpp.llama_memory_clear(
            llama_cpp.llama_get_memory(self.ctx), False
        )  # as Llama.reset + eval: cells dropped, not zeroed
        start = time.perf_counter()
        for i in range(0, len(prompt), self.n_batch):
            self._decode(prompt[i : i + self.n_batch])
        out: list[int] = []
        first = 0.0
        for _ in range(max_new):
            logits = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(self.ctx, -1), shape=(self.n_vocab,)
            )
            token = int(np.argmax(logits))
            if not out:
                first = time.perf_counter() - start
            if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                break
            out.append(token)
            if len(out) < max_new:
                self._decode([token])
        return first, time.perf_counter() - start - first, out

    def close(self) -> None:
        llama_cpp.llama_free(self.ctx)


def ours(backend: LlamaCppBackend, prompt: str, max_new: int) -> tuple[float, float, str]:
    """The same measurement through the serving path: time to first token, then the rest."""
    start = time.perf_counter()
    backend.generate([prompt], max_new_tokens=1)
    first = time.perf_counter() - start
    start = time.perf_counter()
    text = backend.generate([prompt], max_new_tokens=max_new)[0]
    total = time.perf_counter() - start
    return first, total - first, text


def served(client: openai.OpenAI, request: dict, max_new: int) -> tuple[float, int, int]:
    """(seconds, prompt tokens, completion tokens) of one chat request with tools, end to end."""
    start = time.perf_counter()
    response = client.chat.completions.create(model="hammer", max_tokens=max_new, **request)
    seconds = time.perf_counter() - start
    usage = response.usage
    assert usage is not None, "the server reports usage"
    return seconds, usage.prompt_tokens, usage.completion_tokens


def steps(generated: int, max_new: int) -> int:
    """Tokens fed back through the model (the last one is not when the budget runs out)."""
    return generated if generated < max_new else generated - 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, help="GGUF file (default: the embedded model exported to Q4_K_M)"
    )
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: its choice)")
    parser.add_argument("--tokens", type=int, default=128, help="most tokens to generate per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per side (medians reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hammer-overhead-") as tmp:
        path = args.model
        if path is None:
            from hammer_fc.export import export_gguf

            path = export_gguf(resolve("smollm2-135m"), Path(tmp) / "smollm2-135m-q4_k_m.gguf", "Q4_K_M")
        backend = LlamaCppBackend(
            resolve(str(path), prefer="gguf"), n_ctx=4096, n_threads=args.threads, reuse_prefix=False
        )
        example = bench_examples((CALL_TOOLS,), random.Random(0))[CALL_TOOLS]
        prompt = backend.format(example, "hammer")
        tokens = backend.tokenize(prompt)
        record = openai_record(Example(messages=example.messages, tools=example.tools, calls=None, id=""))
        request = {"messages": record["messages"], "tools": record["tools"]}
        params = (
            backend.llm.context_params
        )  # identical settings: the code around llama.cpp is all that differs
        raw = RawLoop(backend.llm.model, params)
        with (
            BackgroundServer(create_app(backend, constrained=False)) as free_server,
            BackgroundServer(create_app(backend, constrained=True)) as grammar_server,
        ):
            clients = {
                "http_free": openai.OpenAI(base_url=free_server.base_url, api_key="-"),
                "http_constrained": openai.OpenAI(base_url=grammar_server.base_url, api_key="-"),
            }
            sides = {
                "raw": lambda: raw.run(tokens, args.tokens),
                "backend": lambda: ours(backend, prompt, args.tokens),
                **{
                    name: (lambda c=client: served(c, request, args.tokens))
                    for name, client in clients.items()
                },
            }
            for run in sides.values():  # warm every side (page in the weights, open connections)
                run()
            runs: dict[str, list] = {name: [] for name in sides}
            names = list(sides)
            for k in range(args.repeats):
                for name in names[k % len(names) :] + names[: k % len(names)]:
                    runs[name].append(sides[name]())
        n_new = len(runs["raw"][0][2])
        raw_text = backend.llm.detokenize(runs["raw"][0][2]).decode("utf-8", errors="replace")
        same = all(o[2] == raw_text for o in runs["backend"]) and all(
            r[2] == runs["raw"][0][2] for r in runs["raw"]
        )
        raw.close()
        backend.close()

    fed = steps(n_new, args.tokens)
    figures = {}
    for side in ("raw", "backend"):
        results = runs[side]
        first = statistics.median(r[0] for r in results)
        decode = statistics.median(r[1] for r in results)
        figures[side] = {
            "prefill_tok_s": len(tokens) / first,
            "decode_tok_s": fed / decode if fed else float("nan"),
            "first_s": first,
            "step_s": decode / fed if fed else float("nan"),
            "total_s": statistics.median(r[0] + r[1] for r in results),
        }
    http = {name: runs[name] for name in clients}
    for line in machine_lines("llama-cpp-python", "openai", "fastapi", "uvicorn"):
        print(line)
    print(f"model: {path}  prompt: {len(tokens)} tokens  free answer: {n_new} tokens  same tokens: {same}")
    print(
        f"threads: {params.n_threads} (batch {params.n_threads_batch})  n_batch: {params.n_batch}  "
        f"n_ctx: {params.n_ctx}  repeats: {args.repeats}, each a full prefill + greedy decoding"
    )
    print(f"{'':18}{'prefill tok/s':>15}{'decode tok/s':>15}{'tokens':>8}{'total s':>10}{'vs raw':>9}")
    for side, f in figures.items():
        loss = f["total_s"] / figures["raw"]["total_s"] - 1
        print(
            f"{side:18}{f['prefill_tok_s']:>15.1f}{f['decode_tok_s']:>15.1f}{n_new:>8}"
            f"{f['total_s']:>10.3f}{loss:>+9.1%}"
        )
    raw_f = figures["raw"]
    for name, results in http.items():
        total = statistics.median(r[0] for r in results)
        prompt_tokens = {r[1] for r in results}
        generated = statistics.median(r[2] for r in results)
        # raw's cost for the same work: its prefill, then one decode step per token fed back
        like_raw = raw_f["first_s"] + steps(int(generated), args.tokens) * raw_f["step_s"]
        print(
            f"{name:18}{'':>15}{'':>15}{generated:>8.0f}{total:>10.3f}{total / like_raw - 1:>+9.1%}"
            f"   (prompt {'/'.join(map(str, sorted(prompt_tokens)))} tokens over HTTP)"
        )
    for key, label in (("prefill_tok_s", "prefill"), ("decode_tok_s", "decode")):
        loss = 1 - figures["backend"][key] / raw_f[key]
        print(f"{label} throughput lost by the backend loop: {loss:+.1%}")
    free_total = statistics.median(r[0] for r in http["http_free"])
    added = figures["backend"]["total_s"] / raw_f["total_s"] - 1
    print(
        f"end-to-end time added by the backend loop: {added:+.1%}; "
        f"by the whole HTTP request, free: {free_total / raw_f['total_s'] - 1:+.1%} (target <= 5%)"
    )


if __name__ == "__main__":
    main()
