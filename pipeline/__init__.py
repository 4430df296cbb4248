"""The upload pipeline: upload tokens and streaming uploads, then probe → transcode → thumbnails →
fingerprints on Ray workers, moderation through a port, and publication — all driven by events.

Import the submodules (``pipeline.uploads``, ``pipeline.coordinator`` ...); this package imports
nothing heavy.
"""

__all__: list[str] = []
