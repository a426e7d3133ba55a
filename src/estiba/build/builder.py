"""The builder: a parsed Dockerfile and a context in, an image out, with Docker's classic
output (`Step 3/9 : RUN ...`, ` ---> Using cache`, ` ---> <id>`, `Successfully built`).

Each stage up to the target runs as its own task, waiting for another stage only where
it needs its result (FROM it, COPY --from it), so independent stages build in parallel;
their output is shown stage by stage, in order. Each step makes an image (with a layer when it changed
the filesystem, else an empty_layer history entry) and is looked up in the cache first.
A failing step stops the build: the other stages are cancelled, nothing is tagged, the
steps done before stay cached.
"""

from __future__ import annotations

import asyncio
import os
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from estiba.api.types import BuildOptions
from estiba.build import instructions as ins
from estiba.build.cache import BuildCache, step_key
from estiba.build.context import BuildContext
from estiba.build.dockerfile import Dockerfile, Instruction, Stage, parse_dockerfile
from estiba.build.errors import BuildFailed, DockerfileError
from estiba.build.layers import ImageState, commit_step, filesystem_step, image_state, mounted_view, scratch_state
from estiba.build.runstep import RunRequest, run_step
from estiba.errors import EstibaError, InvalidArgument, NotFound

__all__ = ["BuildMessage", "BuildOptions", "BuildRun", "Builder"]

# Build args Docker knows without an ARG (proxies); they never make a cache miss.
PREDEFINED_ARGS = frozenset(
    {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
     "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
)  # fmt: skip


@dataclass(frozen=True)
class BuildMessage:
    """One message of the build's output stream: text, or the built image's id (aux)."""

    stream: str = ""
    aux: Mapping[str, Any] | None = None


Pull = Callable[[str, str], Awaitable[None]]  # (reference, platform)


@dataclass
class _StageRun:
    """A stage while it builds: where it is, the ARGs in scope, whether CMD was set."""

    stage: Stage
    state: ImageState
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False


class Builder:
    """Builds over the engine's stores: `images` (ImageStore), `snapshots`, `containers`
    (the API's ContainerBackend, for RUN), the cache, and a directory for scratch."""

    def __init__(
        self,
        *,
        images: Any,
        snapshots: Any,
        containers: Any,
        cache: BuildCache,
        workdir: Path,
        pull: Pull | None = None,
    ) -> None:
        self.images = images
        self.snapshots = snapshots
        self.containers = containers
        self.cache = cache
        self.workdir = Path(workdir)
        self.pull = pull

    def prepare(self, context: BuildContext, options: BuildOptions) -> BuildRun:
        """Read and check the Dockerfile (synchronous: call it in a thread); the build
        to run. DockerfileError before anything is built."""
        text = context.read_dockerfile(options.dockerfile)
        dockerfile = parse_dockerfile(text, options.dockerfile or "Dockerfile")
        if options.labels:
            dockerfile = _with_labels(dockerfile, options.labels)
        last = len(dockerfile.stages) - 1
        if options.target:
            index = dockerfile.stage_index(options.target)
            if index is None:
                raise InvalidArgument(f"target stage {options.target!r} could not be found")
            last = index
        return BuildRun(self, dockerfile, context, options, last)

    async def build(self, context: BuildContext, options: BuildOptions) -> AsyncIterator[BuildMessage]:
        """Build, yielding the output; raises DockerfileError or BuildFailed (after the
        output that led to it)."""
        run = await asyncio.to_thread(self.prepare, context, options)
        async for message in run.messages():
            yield message


class BuildRun:
    """One build, checked and ready: `messages()` runs it (the stages' tasks, their
    output queues in stage order, the step numbering)."""

    def __init__(
        self, builder: Builder, dockerfile: Dockerfile, context: BuildContext, options: BuildOptions, last: int
    ) -> None:
        self.b = builder
        self.df = dockerfile
        self.context = context
        self.options = options
        self.last = last
        self.total = dockerfile.total_steps(last)
        self.global_args: dict[str, str | None] = {}
        self.used_args: set[str] = set()
        self.results: dict[int, asyncio.Future[ImageState]] = {}
        self.tasks: list[asyncio.Future[None]] = []
        self.failure: tuple[int, Exception] | None = None
        self.queues: dict[int, asyncio.Queue[BuildMessage | None]] = {}
        # Step numbers: the meta ARGs first, then each stage's FROM and commands.
        self.first_step: dict[int, int] = {}
        step = len(dockerfile.meta_args) + 1
        for stage in dockerfile.stages[: last + 1]:
            self.first_step[stage.index] = step
            step += 1 + len(stage.commands)

    # --- the whole build ------------------------------------------------------------------

    async def messages(self) -> AsyncIterator[BuildMessage]:
        for number, instruction in enumerate(self.df.meta_args, start=1):
            if not self.options.quiet:
                yield BuildMessage(f"Step {number}/{self.total} : {instruction.original}\n")
            name, default = ins.parse_arg(instruction, self._global_env(), self.df.escape, self.df.path)
            given = name in self.options.build_args
            self.global_args[name] = self.options.build_args[name] if given else default
            self.used_args.add(name)
        loop = asyncio.get_running_loop()
        stages = self.df.stages[: self.last + 1]
        for stage in stages:
            self.results[stage.index] = loop.create_future()
            self.queues[stage.index] = asyncio.Queue()
        self.tasks = [asyncio.ensure_future(self._stage_task(stage)) for stage in stages]
        try:
            for stage in stages:
                queue = self.queues[stage.index]
                while (message := await queue.get()) is not None:
                    yield message
                await asyncio.wait([self.results[stage.index]])
                if self.failure is not None:
                    # The failed stage's output (the RUN's own lines) before its error.
                    for message in self._drain(self.failure[0]):
                        yield message
                    raise self.failure[1]
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            for future in self.results.values():
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" warnings
        final = self.results[self.last].result()
        image_id = final.image_id
        if not image_id:
            raise InvalidArgument("no image was built: the target stage is empty (FROM scratch)")
        yield BuildMessage(aux={"ID": image_id})
        unused = sorted(set(self.options.build_args) - self.used_args - PREDEFINED_ARGS)
        if unused and not self.options.quiet:
            yield BuildMessage(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        if self.options.quiet:
            yield BuildMessage(f"{image_id}\n")
        else:
            yield BuildMessage(f"Successfully built {_short(image_id)}\n")
        for tag in self.options.tags:
            await asyncio.to_thread(self.b.images.tag, image_id, tag)
            if not self.options.quiet:
                yield BuildMessage(f"Successfully tagged {_familiar(tag)}\n")

    def _drain(self, stage: int) -> list[BuildMessage]:
        queue, found = self.queues[stage], []
        while not queue.empty():
            message = queue.get_nowait()
            if message is not None:
                found.append(message)
        return found

    def _global_env(self) -> dict[str, str]:
        return {k: v for k, v in self.global_args.items() if v is not None}

    def _say(self, stage: int, text: str) -> None:
        if not self.options.quiet:
            self.queues[stage].put_nowait(BuildMessage(text))

    # --- a stage --------------------------------------------------------------------------

    async def _stage_task(self, stage: Stage) -> None:
        future = self.results[stage.index]
        try:
            state = await self._build_stage(stage)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            if self.failure is None:  # the first failure stops every stage
                self.failure = (stage.index, exc)
                for task in self.tasks:
                    if task is not asyncio.current_task():
                        task.cancel()
            raise
        except BaseException:
            future.cancel()
            raise
        else:
            future.set_result(state)
        finally:
            self.queues[stage.index].put_nowait(None)

    async def _build_stage(self, stage: Stage) -> ImageState:
        say = lambda text: self._say(stage.index, text)  # noqa: E731
        step = self.first_step[stage.index]
        say(f"Step {step}/{self.total} : {stage.source.original}\n")
        state = await self._from(stage)
        run = _StageRun(stage, state)
        if state.image_id:
            say(f" ---> {_short(state.image_id)}\n")
        triggers = state.run_config.on_build
        if triggers:
            say(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            run.state = replace(state, config=replace(state.config, config=replace(state.run_config, on_build=())))
            for trigger in triggers:
                parsed = parse_dockerfile(f"FROM scratch\n{trigger}\n", f"{self.df.path} (ONBUILD)")
                for instruction in parsed.stages[0].commands:
                    await self._step(run, instruction)
        for offset, instruction in enumerate(stage.commands, start=1):
            say(f"Step {step + offset}/{self.total} : {instruction.original}\n")
            await self._step(run, instruction)
        return run.state

    async def _from(self, stage: Stage) -> ImageState:
        base = ins.expand(stage.source, stage.base, self._global_env(), self.df.escape, self.df.path)
        if base.lower() == "scratch":
            return scratch_state()
        index = self.df.stage_index(base) if not base.isdigit() else None
        if index is not None and index < stage.index and self.df.stages[index].name == base.lower():
            return await self.results[index]
        platform = stage.platform or self.options.platform
        if platform:
            platform = ins.expand(stage.source, platform, self._global_env(), self.df.escape, self.df.path)
        return await self._image(base, stage.source, pull=self.options.pull, platform=platform)

    async def _image(self, ref: str, where: Instruction, *, pull: bool, platform: str = "") -> ImageState:
        if pull:
            if self.b.pull is None:
                raise DockerfileError(
                    self.df.path, where.line, where.keyword,
                    f"cannot pull {ref}: this estibad has no registry client (build without --pull)",
                )  # fmt: skip
            try:
                await self.b.pull(ref, platform)
            except EstibaError as exc:
                raise DockerfileError(self.df.path, where.line, where.keyword, f"pulling {ref}: {exc}") from exc
        try:
            image = await asyncio.to_thread(self.b.images.get, ref)
        except (NotFound, InvalidArgument):
            raise DockerfileError(
                self.df.path, where.line, where.keyword,
                f"no such image: {ref} (pull or load it first, or build with --pull)",
            ) from None  # fmt: skip
        if platform:
            from estiba.distribution.platforms import check_image_platform

            config = await asyncio.to_thread(self.b.images.config, image.id)
            try:
                check_image_platform(config.platform, platform, ref)
            except EstibaError as exc:
                raise DockerfileError(self.df.path, where.line, where.keyword, str(exc)) from None
        return await asyncio.to_thread(image_state, self.b.images, image.id)

    # --- a step ---------------------------------------------------------------------------

    def _env(self, run: _StageRun) -> dict[str, str]:
        """What variables a step substitutes: the ARGs in scope, the image's ENV over them."""
        args = {k: v for k, v in run.args.items() if v is not None}
        return {**args, **run.state.run_config.env_dict()}

    async def _step(self, run: _StageRun, instruction: Instruction) -> None:
        keyword = instruction.keyword
        path, escape = self.df.path, self.df.escape
        config = run.state.run_config
        if keyword == "ARG":
            name, default = ins.parse_arg(instruction, self._env(run), escape, path)
            self.used_args.add(name)
            if name in self.options.build_args:
                value = self.options.build_args[name]
            elif default is None and name in self.global_args:
                value = self.global_args[name]
            else:
                value = default
            run.args[name] = value
            shown = f"ARG {name}" + (f"={default}" if default is not None else "")
            await self._commit_meta(run, config, ins.nop(config, shown))
            return
        if keyword in ins.METADATA:
            new_config, created_by = ins.apply_metadata(
                instruction, config, self._env(run), escape=escape, path=path, cmd_set=run.cmd_set
            )
            if keyword == "CMD":
                run.cmd_set = True
            await self._commit_meta(run, new_config, created_by)
            return
        if keyword == "WORKDIR":
            directory = ins.workdir(instruction, config, self._env(run), escape, path)
            new_config = replace(config, working_dir=directory)
            created_by = ins.nop(config, f"WORKDIR {directory}")

            def make(root: Path) -> None:
                from estiba.snapshots.inroot import Root

                with Root(root) as inside:
                    os.close(inside.makedirs(directory))

            await self._filesystem(run, new_config, created_by, {}, make, instruction)
            return
        if keyword == "RUN":
            await self._run(run, instruction)
            return
        if keyword in ("COPY", "ADD"):
            await self._copy(run, instruction)
            return
        raise DockerfileError(path, instruction.line, keyword, f"{keyword} cannot be used here")

    def _args_in_scope(self, run: _StageRun) -> dict[str, str]:
        env = run.state.run_config.env_dict()
        return {k: v for k, v in run.args.items() if v is not None and k not in env}

    def _proxies(self, run: _StageRun) -> dict[str, str]:
        """Docker's predefined args (the proxies): in RUN's environment without an ARG,
        and, as in dockerd, in neither the history nor the cache key."""
        env = run.state.run_config.env_dict()
        return {
            k: v for k, v in self.options.build_args.items()
            if k in PREDEFINED_ARGS and v is not None and k not in env
        }  # fmt: skip

    async def _cached(self, run: _StageRun, key: str) -> bool:
        """Move to the cached step's image when there is one."""
        if self.options.no_cache:
            return False
        image_id = await asyncio.to_thread(self.b.cache.get, run.state.image_id, key)
        if image_id is None or not await asyncio.to_thread(self.b.images.exists, image_id):
            return False
        run.state = await asyncio.to_thread(image_state, self.b.images, image_id)
        self._say(run.stage.index, f" ---> Using cache\n ---> {_short(image_id)}\n")
        return True

    async def _record(self, run: _StageRun, key: str, new: ImageState) -> None:
        await asyncio.to_thread(self.b.cache.put, run.state.image_id, key, new.image_id)
        run.state = new
        self._say(run.stage.index, f" ---> {_short(new.image_id)}\n")

    async def _commit_meta(self, run: _StageRun, new_config: Any, created_by: str) -> None:
        key = step_key(created_by, {"config": new_config.to_json()})
        if await self._cached(run, key):
            return
        new = await asyncio.to_thread(commit_step, self.b.images, run.state, new_config, created_by, None)
        await self._record(run, key, new)

    async def _filesystem(
        self,
        run: _StageRun,
        new_config: Any,
        created_by: str,
        inputs: Mapping[str, object],
        change: Callable[[Path], None],
        instruction: Instruction,
    ) -> None:
        key = step_key(created_by, {**inputs, "config": new_config.to_json()})
        if await self._cached(run, key):
            return
        try:
            layer = await asyncio.to_thread(
                filesystem_step, self.b.images, self.b.snapshots, run.state, self.b.workdir, change
            )
        except DockerfileError:
            raise
        except EstibaError as exc:
            raise DockerfileError(self.df.path, instruction.line, instruction.keyword, str(exc)) from exc
        new = await asyncio.to_thread(commit_step, self.b.images, run.state, new_config, created_by, layer)
        await self._record(run, key, new)

    async def _run(self, run: _StageRun, instruction: Instruction) -> None:
        config = run.state.run_config
        if not run.state.image_id:
            raise DockerfileError(self.df.path, instruction.line, "RUN", "cannot RUN in an empty image (FROM scratch)")
        argv = ins.run_argv(instruction, config)
        args = self._args_in_scope(run)
        prefix = f"|{len(args)} " + " ".join(f"{k}={v}" for k, v in sorted(args.items())) + " " if args else ""
        created_by = prefix + " ".join(argv)
        key = step_key(created_by, {"config": config.to_json()})
        if await self._cached(run, key):
            return
        network = instruction.flag("network") or "default"
        if network == "default":
            network = self.options.network_mode
        request = RunRequest(
            argv=argv,
            env=(*config.env, *(f"{k}={v}" for k, v in sorted({**self._proxies(run), **args}.items()))),
            working_dir=config.working_dir,
            user=config.user,
            network_mode=network,
            extra_hosts=self.options.extra_hosts,
            shown=" ".join(argv),
        )

        async def emit(text: str) -> None:
            self._say(run.stage.index, text)

        try:
            layer = await run_step(self.b.containers, self.b.images, self.b.snapshots, run.state, request, emit)
        except BuildFailed:
            raise
        except EstibaError as exc:
            raise BuildFailed(f"{self.df.path}:{instruction.line}: RUN: {exc}") from exc
        new = await asyncio.to_thread(commit_step, self.b.images, run.state, config, created_by, layer)
        await self._record(run, key, new)

    async def _copy(self, run: _StageRun, instruction: Instruction) -> None:
        from estiba.build import copying

        config = run.state.run_config
        env = self._env(run)
        spec = ins.copy_spec(instruction, env, config.working_dir or "/", escape=self.df.escape, path=self.df.path)
        where = (self.df.path, instruction.line, instruction.keyword)
        source_state: ImageState | None = None
        try:
            if spec.source_stage:
                source_state = await self._copy_source(spec.source_stage, run.stage, instruction)
                digest = f"image:{source_state.image_id}"
                items = None
            else:
                items = await asyncio.to_thread(copying.collect_context, spec, self.context, env, self._fetcher())
                digest = await asyncio.to_thread(copying.digest_items, items, spec)
        except NotFound as exc:
            raise DockerfileError(*where, f"{exc.message}") from None
        flags = " ".join(f"--{k}={v}" for k, v in instruction.flags if k in ("chown", "chmod", "from"))
        created_by = ins.nop(config, f"{spec.keyword} {flags + ' ' if flags else ''}{digest} in {spec.dest} ")
        inputs = {"sources": list(spec.sources), "digest": digest}

        def change(root: Path) -> None:
            owner = _owner(root, spec.chown) if spec.chown else None
            if source_state is None:
                copying.write_into(root, spec, items or [], owner)
                return
            with mounted_view(self.b.images, self.b.snapshots, source_state, self.b.workdir) as view:
                found = copying.collect_root(spec, view)
                copying.write_into(root, spec, found, owner)

        await self._filesystem(run, config, created_by, inputs, change, instruction)

    async def _copy_source(self, name: str, stage: Stage, instruction: Instruction) -> ImageState:
        index = self.df.stage_index(name)
        if index is not None:
            if index >= stage.index:
                raise DockerfileError(
                    self.df.path, instruction.line, instruction.keyword,
                    f"invalid from flag value {name}: a stage can only copy from an earlier stage",
                )  # fmt: skip
            return await self.results[index]
        return await self._image(name, instruction, pull=False)

    def _fetcher(self) -> Callable[[str], Path]:
        def fetch(url: str) -> Path:
            target = self.context.scratch_dir("add") / "download"
            try:
                with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:  # noqa: S310
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
            except OSError as exc:
                raise NotFound(f"cannot fetch {url}: {exc}") from exc
            os.chmod(target, 0o600)
            return target

        return fetch


def _owner(root: Path, chown: str) -> tuple[int, int]:
    from estiba.engine.users import resolve_user

    user, _, group = chown.partition(":")
    if group and not user:
        user = "0"
    spec = f"{user}:{group}" if group else user
    resolved = resolve_user(str(root), spec)
    return resolved.uid, resolved.gid


def _with_labels(dockerfile: Dockerfile, labels: Mapping[str, str]) -> Dockerfile:
    """--label: a LABEL step at the end of the last stage, as dockerd adds it."""
    import json

    text = "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items()))
    last = dockerfile.stages[-1]
    line = Instruction("LABEL", text[len("LABEL "):], 0, text)
    stages = (*dockerfile.stages[:-1], replace(last, commands=(*last.commands, line)))
    return replace(dockerfile, stages=stages)


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _familiar(tag: str) -> str:
    from estiba.images import parse_reference

    try:
        return parse_reference(tag).familiar()
    except EstibaError:
        return tag
