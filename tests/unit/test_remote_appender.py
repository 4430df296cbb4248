"""``RemoteAppender``: one made by name crosses into another actor as the name, never as a handle."""

from __future__ import annotations

import pickle
import threading

from pipeline.logwriter import RemoteAppender


def test_a_named_appender_pickles_as_its_name_without_the_handle_it_resolved() -> None:
    handle = threading.Lock()  # stands for the writer's handle: it must not travel (a lock cannot)
    appender = RemoteAppender.by_name("reel-log-writer", "reelstack", handle=handle)
    assert appender.handle is handle  # kept where it was made (it keeps the writer alive)
    copy = pickle.loads(pickle.dumps(appender))
    assert copy.name == ("reel-log-writer", "reelstack")
    assert copy.handle is None  # looked up again on first use, where it is unpickled


def test_an_appender_made_from_a_handle_carries_the_handle() -> None:
    copy = pickle.loads(pickle.dumps(RemoteAppender({"stands": "for a handle"})))
    assert copy.handle == {"stands": "for a handle"}
    assert copy.name is None
