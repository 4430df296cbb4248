"""Everything that touches video bytes: sniff, sandboxed probe, HLS transcode, thumbnails, fingerprints.

Import the submodules directly; this package imports nothing heavy, so the sandboxed probe child starts
without libav loaded. The pipeline's calls, in order:

- ``media.probe.probe(path, limits=ProbeLimits()) -> ProbeResult | Rejection`` (never raises for the file)
- ``media.process.process_video(src, out_dir, probe, LadderConfig()) -> ProcessedVideo``: the HLS ladder
  under ``out_dir/hls`` (``TranscodeResult.files()`` lists what to upload), thumbnails under
  ``out_dir/thumbs``, the Chromaprint audio fingerprint and per-second pHashes, from one decode;
  raises ``media.errors.TranscodeError``.
- ``media.fingerprint.compare_audio(a, b) -> float`` and ``media.vfingerprint.video_distance(a, b)`` /
  ``is_near_duplicate(a, b)`` to match against stored fingerprints.
- ``media.synth.make_clip(path, seconds, width, height, ...)`` for tests, benchmarks and demos.
"""

__all__: list[str] = []
