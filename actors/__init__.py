"""Ray actors of Reelstack: user shards (live session state), the upload pipeline, the trainer."""
