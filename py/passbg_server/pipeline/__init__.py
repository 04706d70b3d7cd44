"""The reference server's pipeline: what turns an uploaded photo into its alpha, stronger than the page's.

Steps (each can be switched off, so the evaluation can measure what each one is worth; see
passbg_dev.eval_server): the whole frame at the model's input size, `flip` (tta.py: a mirrored pass,
averaged where the two agree, the larger where one misses an area), `region` (region.py: the head and
shoulders at the full input size, fused), then the levels and the edge refinement the page also uses
(passbg.core.matte), then `matting` (matting.py: pymatting on the uncertain band), then `islands`
(below the face the region step found, clothing the model hedged on made opaque, as on the page:
passbg.core.islands), then `specks` (faint specks far from the person removed, as on the page:
passbg.core.specks).
"""

from passbg_server.pipeline.run import ServerPipeline, parse_steps

__all__ = ["ServerPipeline", "parse_steps"]
