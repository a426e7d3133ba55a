"""The resolved project: what the loader hands to the engine.

`Project.config` is the canonical model as `docker compose config --format json` prints
it: every short syntax expanded to its long form, paths absolute, variables
interpolated, profiles applied, `extends`/`include`/several -f merged. The engine reads
nothing but this object. Keys absent in the file are absent here (no nulls added),
except where listed. The shape:

    name: str
    services: {NAME: service}          # only the enabled ones (profiles); sorted by name;
                                       # with services named to load_project, just those
                                       # and their dependencies (the rest in `disabled`)
    networks: {KEY: {name, driver?, driver_opts?, ipam?, internal?, external?, labels?,
                     attachable?, enable_ipv6?}}
              # name = "<project>_<KEY>" unless `name:` given or external; "default" is
              # added when a service has no networks and no network_mode
    volumes:  {KEY: {name, driver?, driver_opts?, external?, labels?}}  # name as networks
    secrets / configs: {KEY: {name, file (absolute)?, environment?, content?, external?}}

    service:
      image: str?                      build: {context (absolute, or a URL), dockerfile
                                              ("Dockerfile" unless dockerfile_inline),
                                              args: {k: v | None} (always, maybe {}),
                                              target?, dockerfile_inline?, labels?, ...}?
      command / entrypoint: [str]?     # a string is split as a shell would (shlex)
      environment: {K: str | None}     # list form and env_file merged (environment wins);
                                       # "K" alone takes os.environ/.env's value or None
      env_file: [absolute path]?       # kept for reference; already merged (optional
                                       # files that do not exist are left out)
      ports: [{mode: "ingress", target: int, published: str?, host_ip: str?,
               protocol: "tcp"|"udp", name?, app_protocol?}]   # ranges: one entry per port
      expose: [str]
      volumes: [{type: "volume"|"bind"|"tmpfs"|"npipe", source: str?, target: str,
                 read_only: bool?, bind: {create_host_path: bool, propagation?, selinux?}?,
                 volume: {nocopy: bool?}?, tmpfs: {size: int bytes?, mode?}?}]
               # short syntax: binds get bind.create_host_path true, volumes `volume: {}`
               # bind source absolute (relative to working_dir, ~ expanded); volume
               # source is the top-level KEY, not the engine name
      networks: {KEY: {aliases: [str]?, ipv4_address?, ipv6_address?, priority?} | None}
                # {"default": None} when absent and no network_mode
      network_mode: str?               # "host", "none", "service:S", "container:C"
      depends_on: {SERVICE: {condition: "service_started"|"service_healthy"|
                             "service_completed_successfully", restart: bool, required: bool}}
                # links, network_mode service:X and volumes_from X add entries
                # {condition: service_started, required: true, restart: true}
      healthcheck: {test: [str] ("NONE"|"CMD"|"CMD-SHELL" first)?, interval?, timeout?,
                    start_period?, start_interval? (duration strings), retries: int?,
                    disable: bool?}
      restart: "no"|"always"|"on-failure[:N]"|"unless-stopped"?
      deploy: {replicas?, resources: {limits: {cpus: str?, memory: int bytes?, pids?},
               reservations: {...}}?, restart_policy: {condition, delay, max_attempts,
               window}?, placement?, labels?, mode?}?
      scale: int?                      labels: {k: str}     annotations: {k: str}?
      container_name, hostname, domainname, user, working_dir, stop_signal: str?
      stop_grace_period: duration str?
      tty, stdin_open, privileged, read_only, init: bool?
      cap_add, cap_drop, dns, dns_search, dns_opt, tmpfs, security_opt, devices,
      group_add, profiles: [str]?
      extra_hosts: ["HOST:IP"]?        # mapping form converted
      ulimits: {NAME: {soft: int, hard: int}}?   # an int means soft = hard
      sysctls: {k: str}?               mem_limit: int bytes?  cpus: float?
      shm_size: int bytes?             pids_limit: int?
      logging: {driver?, options?}?    pull_policy: str?
      secrets / configs: [{source, target?, uid?, gid?, mode?}]  # short form expanded

Durations stay strings as written ("1m30s"); `duration_seconds` converts them.
`loader.render_config` prints this model; there literal `$` are written `$$` and
deploy.resources memory sizes as strings, so that the output loads back to the same model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from estiba.errors import InvalidArgument

__all__ = ["Project", "duration_seconds"]


@dataclass
class Project:
    name: str  # normalised: lower case, [a-z0-9_-], starts with a letter or digit
    working_dir: str  # absolute project directory
    config_files: list[str]  # absolute paths, in the order given
    config: dict  # the canonical model: name, services, networks, volumes, secrets, configs
    disabled: dict = field(default_factory=dict)  # left out by profiles (or not named)
    environment: dict[str, str] = field(default_factory=dict)  # os.environ + .env used
    warnings: list[str] = field(default_factory=list)  # unset variables etc., for stderr

    @property
    def services(self) -> dict[str, dict]:
        return self.config.get("services", {})


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(value: object) -> float:
    """A compose duration ("1m30s", "10s", "500ms", or a number of seconds) in seconds."""
    if isinstance(value, bool):
        raise InvalidArgument(f"invalid duration {value!r}: use a duration like 10s or 1m30s")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if not match:
            raise InvalidArgument(
                f"invalid duration {value!r}: use a duration like 10s, 1m30s or 500ms"
            )
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not text:
        raise InvalidArgument("invalid duration '': use a duration like 10s, 1m30s or 500ms")
    return total
