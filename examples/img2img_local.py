"""Image to image from a local photo, on your own ComfyUI server.

``LoadImage`` names a file of *this* machine (relative to the current directory, or a
``pathlib.Path``): ``cmfy-graph submit`` uploads it to the server's input folder first, named
by its content, so a second run (or every variant of a sweep) uploads it once.

    cmfy-graph emulator --comfyui --port 8188 &      # a fake ComfyUI server (no model runs)
    cmfy-graph submit examples/img2img_local.py --server http://127.0.0.1:8188 --download out/
"""

from pathlib import Path

from cmfy_graph import Workflow
from cmfy_graph.nodes import (
    CheckpointLoaderSimple,
    CLIPTextEncode,
    KSampler,
    LoadImage,
    SaveImage,
    VAEDecode,
    VAEEncode,
)

with Workflow() as wf:
    ckpt = CheckpointLoaderSimple(ckpt_name="sd_xl_base_1.0.safetensors")
    photo = LoadImage(image=Path("examples/photo.png"), title="Input photo")
    sampled = KSampler(
        model=ckpt.model,
        positive=CLIPTextEncode(text="a watercolor painting of a harbour", clip=ckpt.clip),
        negative=CLIPTextEncode(text="blurry, jpeg artifacts", clip=ckpt.clip),
        latent_image=VAEEncode(pixels=photo.image, vae=ckpt.vae),
        seed=1234,
        steps=20,
        cfg=6.5,
        sampler_name="dpmpp_2m",
        scheduler="karras",
        denoise=0.55,
    )
    SaveImage(images=VAEDecode(samples=sampled, vae=ckpt.vae), filename_prefix="img2img")
