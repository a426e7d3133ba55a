"""The compose loader: compose files to the resolved canonical model (`model.Project`).

A pipeline of small steps, one module each: `discovery` (which files, which name),
`envfile` (.env), `yamlfile` (YAML 1.2 with `!reset`/`!override`), `interpolation`,
`schema` (validation), `files` (include, extends), `merge`, `profiles`, `normalize`
and `resources` (canonical forms), `render` (`docker compose config` output).
"""

from estiba.compose.loader.project import load_project
from estiba.compose.loader.render import render_config

__all__ = ["load_project", "render_config"]
