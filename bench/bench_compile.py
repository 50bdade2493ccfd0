"""Compile a 10,000-node graph and serialise it, against json.dumps of the result.

Target (issue 2): compile + serialise at most 2x the time of ``json.dumps`` of the prompt.
Run: ``python bench/bench_compile.py [N_NODES]``.
"""

from __future__ import annotations

import json
import sys
import time

from cmfy_graph import Workflow
from cmfy_graph.nodes import (
    CheckpointLoaderSimple,
    CLIPTextEncode,
    EmptyLatentImage,
    KSampler,
    SaveImage,
    VAEDecode,
)


def build(n_nodes: int) -> Workflow:
    with Workflow() as wf:
        ckpt = CheckpointLoaderSimple(ckpt_name="sd_xl_base_1.0.safetensors")
        neg = CLIPTextEncode(text="blurry", clip=ckpt.clip)
        lat = EmptyLatentImage(width=1024, height=1024)
        while len(wf) < n_nodes:
            i = len(wf)
            pos = CLIPTextEncode(text=f"prompt {i}", clip=ckpt.clip)
            ks = KSampler(model=ckpt.model, positive=pos, negative=neg, latent_image=lat, seed=i)
            SaveImage(images=VAEDecode(samples=ks, vae=ckpt.vae), filename_prefix=f"p{i}")
    return wf


def best(f, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    t0 = time.perf_counter()
    wf = build(n)
    t_build = time.perf_counter() - t0
    colds = []
    for _ in range(5):
        fresh = build(n)
        t0 = time.perf_counter()
        fresh.to_prompt()
        colds.append(time.perf_counter() - t0)
        del fresh
    t_cold = min(colds)
    prompt = wf.to_prompt()
    t_dumps = best(lambda: json.dumps(prompt))
    t_compile = best(lambda: json.dumps(wf.to_prompt()))
    t_to_prompt = best(wf.to_prompt)
    print(f"nodes: {len(wf)}")
    print(f"build (construct + check every node): {t_build * 1e3:.1f} ms")
    print(f"to_prompt, first call on a fresh workflow (best of 5): {t_cold * 1e3:.2f} ms")
    print(f"to_prompt, later calls: {t_to_prompt * 1e3:.2f} ms")
    print(f"json.dumps of the prompt (baseline): {t_dumps * 1e3:.2f} ms")
    print(f"compile + serialise: {t_compile * 1e3:.2f} ms")
    print(f"ratio to json.dumps: {t_compile / t_dumps:.2f}x (target <= 2.0x)")
    print(f"ratio to json.dumps, first compile: {(t_cold + t_dumps) / t_dumps:.2f}x")


if __name__ == "__main__":
    main()
