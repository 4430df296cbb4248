"""cluster.yaml must pass the Ray cluster launcher's own schema validation."""

from __future__ import annotations

from pathlib import Path

import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).parents[2]


def test_cluster_yaml_passes_ray_validation() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    validate_config(prepare_config(config))
    types = config["available_node_types"]
    assert {"head", "cpu_worker", "gpu_worker"} <= set(types)
    assert types["gpu_worker"]["resources"]["GPU"] >= 1
    assert types["cpu_worker"]["min_workers"] <= types["cpu_worker"]["max_workers"]
    # the head deploys the platform once Ray is up: `reel up` joins the cluster (the command exists)
    deploy = [c for c in config["head_start_ray_commands"] if "reel up" in c]
    assert len(deploy) == 1 and "--address auto" in deploy[0] and "reelstack.env" in deploy[0]
    from reelstack.up import up

    args = deploy[0].split("reel up", 1)[1].split(">", 1)[0].split()
    known = {opt for p in up.params for opt in p.opts}
    assert [a for a in args if a.startswith("--") and a not in known] == []  # flags `reel up` takes
