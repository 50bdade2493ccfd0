"""Image to image: encode an input image, partially denoise it, save the result.

Model inputs may be URLs on cmfy.cloud; on a self-hosted ComfyUI server use the file names it
lists in ``/object_info``.
"""

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
    ckpt = CheckpointLoaderSimple(ckpt_name="v1-5-pruned-emaonly.safetensors")
    photo = LoadImage(image="example.png", title="Input photo")
    latent = VAEEncode(pixels=photo.image, vae=ckpt.vae)
    sampled = KSampler(
        model=ckpt.model,
        positive=CLIPTextEncode(text="a watercolor painting of a harbour", clip=ckpt.clip),
        negative=CLIPTextEncode(text="blurry, jpeg artifacts", clip=ckpt.clip),
        latent_image=latent,
        seed=1234,
        steps=30,
        cfg=6.5,
        sampler_name="dpmpp_2m",
        scheduler="karras",
        denoise=0.55,
    )
    SaveImage(images=VAEDecode(samples=sampled, vae=ckpt.vae), filename_prefix="img2img")
