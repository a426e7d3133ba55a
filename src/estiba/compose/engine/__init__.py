"""The convergence engine of `estiba compose`: the dependency graph and its parallel
walk (graph), the per-service plan (plan), networks/volumes/images (objects), `up` and
`create` (converge), the zero-downtime replacement of `up --wait` (rolling), the
anonymous volumes a recreated container takes over (inherit), dependency conditions and
`--wait` (waiting), and the lifecycle commands (lifecycle). Progress goes to a Progress
writer in compose's plain format.
"""

from estiba.compose.engine.converge import ConvergeOptions, Engine, select_services
from estiba.compose.engine.graph import Graph
from estiba.compose.engine.lifecycle import Lifecycle
from estiba.compose.engine.plan import Recreate, ServicePlan, desired_scale, plan_service
from estiba.compose.engine.progress import Progress

__all__ = [
    "ConvergeOptions",
    "Engine",
    "Graph",
    "Lifecycle",
    "Progress",
    "Recreate",
    "ServicePlan",
    "desired_scale",
    "plan_service",
    "select_services",
]
