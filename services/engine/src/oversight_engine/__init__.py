"""The oversight engine: framework pack + one provider's data → triggers, support needs, segment.

Pure functions only. The metrics and segmentation services and the ``oversight evaluate``
command all call :func:`oversight_engine.evaluate.evaluate` (or its parts), so what the command
prints for a scenario is what the services would do with the same data.
"""

from oversight_engine.evaluate import ScenarioError, evaluate

__all__ = ["ScenarioError", "evaluate"]
