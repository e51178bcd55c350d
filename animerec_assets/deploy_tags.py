"""Tags that place work on Kubernetes in production; inert on one machine.

In production every run is its own pod (the ``K8sRunLauncher``) and the model job's steps are
pods of their own (``dagster_k8s.k8s_job_executor``, chosen in ``defs/automation``). Two kinds of
tag steer that, and they live here so the asset code and the deployment files agree:

- ``dagster-k8s/config`` op tags size a step's pod: training gets a pod big enough for
  TensorFlow, away from the Dagster host and the code server.
- the ``animerec/workload`` run tag lets the run queue limit how many training runs go at once
  (``tag_concurrency_limits`` in ``deploy/dagster.k8s.yaml`` and the Helm values).

Locally no executor reads ``dagster-k8s/config`` and the local instance sets no tag limits.
This module imports nothing, so reading it costs nothing.
"""

from __future__ import annotations

from typing import Any

# The tag dagster-k8s reads on ops (step pods) and runs (run pods).
K8S_CONFIG_TAG = "dagster-k8s/config"
# The run tag the run coordinator's tag_concurrency_limits key on.
WORKLOAD_TAG = "animerec/workload"
TRAINING = "training"

# Requests equal to limits: the scheduler reserves the whole node slice (Guaranteed QoS), so a
# training step is neither throttled nor evicted by its neighbours.
TRAINING_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "8", "memory": "16Gi"},
    "limits": {"cpu": "8", "memory": "16Gi"},
}


def k8s_op_tags(resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Op tags giving the step's container these resource requests and limits."""
    return {K8S_CONFIG_TAG: {"container_config": {"resources": resources}}}


# Every ML asset trains TensorFlow models: each runs in its own pod of this size in production.
TRAINING_OP_TAGS: dict[str, Any] = k8s_op_tags(TRAINING_RESOURCES)
# The model job's runs: at most one at a time queues on this tag.
TRAINING_RUN_TAGS: dict[str, str] = {WORKLOAD_TAG: TRAINING}
