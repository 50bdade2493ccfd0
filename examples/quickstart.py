"""The cmfy.cloud quickstart's text-to-image workflow, written with cmfy_graph.

``cmfy-graph compile examples/quickstart.py`` prints the request body that the quickstart sends
to ``POST /v1/jobs``; ``cmfy-graph submit examples/quickstart.py --wait`` runs it.
"""

from cmfy_graph import Workflow
from cmfy_graph.nodes import (
    CheckpointLoaderSimple,
    CLIPTextEncode,
    EmptyLatentImage,
    KSampler,
    SaveImage,
    VAEDecode,
)

SDXL = (
    "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0"
    "/resolve/main/sd_xl_base_1.0.safetensors"
)

with Workflow() as wf:
    ckpt = CheckpointLoaderSimple(ckpt_name=SDXL)
    positive = CLIPTextEncode(text="a beautiful sunset over mountains, digital art", clip=ckpt.clip)
    negative = CLIPTextEncode(text="blurry, low quality, watermark", clip=ckpt.clip)
    latent = EmptyLatentImage(width=1024, height=1024, batch_size=1)
    sampled = KSampler(
        seed=42,
        steps=25,
        cfg=7.0,
        sampler_name="euler_ancestral",
        scheduler="normal",
        denoise=1.0,
        model=ckpt.model,
        positive=positive,
        negative=negative,
        latent_image=latent,
    )
    image = VAEDecode(samples=sampled, vae=ckpt.vae)
    SaveImage(filename_prefix="output", images=image)
