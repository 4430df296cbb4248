"""Everything that touches video bytes: sniff, sandboxed probe, HLS transcode, thumbnails, fingerprints.

Import the submodules directly (``media.probe``, ``media.transcode`` ...): this package imports nothing
heavy, so the sandboxed probe child starts without libav loaded.
"""

__all__: list[str] = []
