"""Closed-loop simulation, A/B experiments and capacity planning for Reelstack.

``sim.world`` (synthetic users and the watch model, pure), ``sim.driver`` (drives a running platform
over HTTP), ``sim.metrics`` (the engagement, cold-start, exploration, diversity and freshness figures),
``sim.experiments`` (experiments as configuration, bucketing, the arm's feed overrides),
``sim.abreport`` (an experiment's report from the event log), ``sim.capacity`` (benchmarks -> cluster
plan) and ``sim.benchall`` (``reel bench all``: every benchmark, a results file and charts).
"""

__all__: list[str] = []
