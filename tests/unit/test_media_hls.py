"""HLS text helpers: media playlist parsing, peak/average bandwidth, RFC 6381 codec string, master text."""

from __future__ import annotations

from media.hls import MasterEntry, avc_codec_string, master_playlist, parse_media_playlist, peak_bitrate

MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:2.000000,
seg_00000.ts
#EXTINF:2.000000,
seg_00001.ts
#EXTINF:1.000000,
seg_00002.ts
#EXT-X-ENDLIST
"""


def test_parse_media_playlist() -> None:
    segs = parse_media_playlist(MEDIA)
    assert [s.uri for s in segs] == ["seg_00000.ts", "seg_00001.ts", "seg_00002.ts"]
    assert [s.duration_s for s in segs] == [2.0, 2.0, 1.0]


def test_peak_and_average_bitrate() -> None:
    peak, avg = peak_bitrate([250_000, 500_000, 100_000], [2.0, 2.0, 1.0])
    assert peak == 2_000_000
    assert avg == int(8 * 850_000 / 5.0)
    assert peak_bitrate([], []) == (0, 0)


def test_avc_codec_string_from_annexb_sps() -> None:
    aud = b"\x00\x00\x00\x01\x09\xf0"
    sps = b"\x00\x00\x00\x01\x67\x64\x00\x1f\xac\xd9"
    assert avc_codec_string(aud + sps) == "avc1.64001f"
    assert avc_codec_string(b"\x00\x00\x01\x67\x42\xc0\x1e\x00") == "avc1.42c01e"
    assert avc_codec_string(b"no start code") == "avc1.640028"


def test_master_playlist_orders_by_bandwidth() -> None:
    entries = [
        MasterEntry(
            uri="720p/index.m3u8",
            bandwidth=3_000_000,
            average_bandwidth=2_500_000,
            width=720,
            height=1280,
            codecs="avc1.64001f,mp4a.40.2",
            frame_rate=30.0,
        ),
        MasterEntry(
            uri="360p/index.m3u8",
            bandwidth=900_000,
            average_bandwidth=800_000,
            width=360,
            height=640,
            codecs="avc1.64001e,mp4a.40.2",
            frame_rate=30.0,
        ),
    ]
    text = master_playlist(entries)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[4] == "360p/index.m3u8" and lines[6] == "720p/index.m3u8"
    assert "BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=360x640" in lines[3]
    assert 'CODECS="avc1.64001e,mp4a.40.2"' in lines[3]
