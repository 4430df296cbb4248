"""Content safety: the scoring ensemble, routing policy, review, appeals, reports and the feed filter."""
