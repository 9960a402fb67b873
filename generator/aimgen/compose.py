"""Requests → one DeploymentSpec: select (recipe or planner), size, and fill every decided field."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from aimgen.catalog.nodepool import NodePool
from aimgen.constants import (
    API_ISVC,
    API_LLMISVC,
    CACHE_MOUNT_PATH,
    GIB,
    KSERVE_MODEL_PATH,
    LLMISVC_DECODE_ENGINE_PORT,
    LLMISVC_MODEL_PATH,
    LLMISVC_PORT,
    ROUTER_SCHEDULER,
)
from aimgen.errors import InvalidInput, NoFeasiblePlan, UsageError
from aimgen.multinode import (
    LWS_WORKER_TO_LEADER,
    WORKER_TO_HEAD,
    check_group,
    check_lws_group,
    check_shape,
    rendezvous_flags,
)
from aimgen.names import dns_label, model_name, runtime_name
from aimgen.planning.engine import multinode_env
from aimgen.recipes.engine_rules import GROUP_FLAGS
from aimgen.parallel import from_flags
from aimgen.select import Request, Selection, select
from aimgen.sources import ModelSource, check_sources, hf_uri, local_model
from aimgen.sizing import cache_gib, shm_size, startup_failure_threshold, startup_grace_minutes
from aimgen.spec import (
    AutoscalingSpec,
    CacheSpec,
    DeploymentSpec,
    DisaggregationSpec,
    ExposureSpec,
    MonitoringSpec,
    Placement,
    Probes,
    RoleSpec,
    RuntimeSpec,
    ServingSpec,
)

# KServe's ingress config default kserveIngressGateway "kserve/kserve-ingress-gateway" (config/configmap/
# inferenceservice.yaml @v0.20.0): where an LLMInferenceService router's `gateway: {}` attaches.
KSERVE_GATEWAY_NAMESPACE = "kserve"


@dataclass(frozen=True)
class Options:
    name: str | None = None
    namespace: str = "default"
    cluster_runtime: bool = False
    prefetch_job: bool = False
    init_container: bool = True
    cache_enabled: bool = True
    existing_claim: str | None = None
    cache_image: str | None = None  # the aimgen image for prefetch and tests; None: the engine image + bundle
    cache_size: str | None = None
    hf_token_secret: str | None = None  # "name" or "name:key"
    hf_endpoint: str | None = None  # a Hub mirror, checked by aimgen.sources.hub_endpoint
    model_source: ModelSource | None = None  # weights KServe mounts or downloads (storageUri); None: the Hub
    storage_secret: str | None = None  # Secret KServe's storage initializer reads a bucket's credentials from
    local_model_cache: str | None = None  # host folder: cache each model on the AMD nodes' disks (LocalModelCache)
    monitoring: bool = False
    autoscale: tuple[int, int] | None = None
    ingress_host: str | None = None
    ingress_class: str | None = None
    tls_secret: str | None = None
    gateway: tuple[str, str] | None = None  # (name, namespace) of a Gateway API Gateway
    allowed_namespaces: tuple[str, ...] = ()
    api: str = API_ISVC
    router: str = ROUTER_SCHEDULER  # llmisvc only
    disaggregate: bool = False  # llmisvc only: prefill/decode from a cited P/D configuration
    overrides: "Overrides | None" = None  # --engine-arg / --env, over every model's profile


@dataclass(frozen=True)
class Overrides:
    """Engine flags and env the user sets over the profile (`--engine-arg KEY=VALUE`, `--env NAME=VALUE`), checked
    against the engine snapshot like a recipe's, so an `explain` hint can be followed as it is written."""

    args: tuple[tuple[str, Any], ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Decision:
    """One served model: what was selected and the arithmetic behind it."""

    selection: Selection
    plan: Any  # aimgen.planning Plan (numbers and reasons)
    serving: ServingSpec
    runtime: RuntimeSpec
    engine_flags: dict[str, Any] = field(default_factory=dict)  # flag name -> value, what `aimgen launch` runs
    features: tuple[str, ...] = ()  # what each requested recipe feature set
    # what the cache holds besides the checkpoint, each line marked when the claim may lack room (repo_notes)
    repo_notes: tuple[tuple[bool, str], ...] = ()


# The split and the group's rendezvous (aimgen.parallel, aimgen.multinode): the pods and the GPUs they ask for are
# computed from them, so an override would serve a shape nobody sized.
SHAPE_FLAGS = GROUP_FLAGS | {"data-parallel-size", "enable-expert-parallel", "distributed-executor-backend"}
ROLES = ("served_model_name", "port", "tensor_parallel_size", "pipeline_parallel_size", "revision", "tokenizer_revision")


def _role_flags(names: dict) -> set[str]:
    """The engine's spelling of the flags aimgen writes from the model and the shape (ROLES)."""
    return {names[r] for r in ROLES if names.get(r)}


def engine_flags(runtime, *, served_name: str, revision: str | None, tp: int, pp: int,
                 args: dict[str, Any]) -> dict[str, Any]:
    """The engine's flags by name (model and port aside): identity and parallelism, then the runtime's default
    args overlaid by the profile's. The launcher runs exactly these; the renderer spells them."""
    names = runtime.flag_names
    flags: dict[str, Any] = {names["served_model_name"]: served_name, names["tensor_parallel_size"]: tp}
    if pp > 1:
        flags[names["pipeline_parallel_size"]] = pp
    if revision:
        # A pinned commit is all the cache holds (no refs/main): the tokenizer must be read at the same commit.
        flags[names["revision"]] = revision
        if names.get("tokenizer_revision"):
            flags[names["tokenizer_revision"]] = revision
    reserved = _role_flags(names)
    flags.update({k: v for k, v in {**runtime.default_args, **args}.items() if k not in reserved})
    return flags


def engine_args(runtime, checkpoint: str, flags: dict[str, Any], port: int | None = None) -> tuple[str, ...]:
    """The serving container's argv after the runtime command, spelled as the engine's own parser wants.
    `port` is where the engine listens when the API fixes it (KServe's LLMInferenceService: 8000). The kubelet
    probes the pod IP: an engine whose default bind address is loopback (SGLang: 127.0.0.1) gets --host."""
    from aimgen.runtimes.argv import build_argv
    from aimgen.runtimes.cmdline import host_to_pass
    from aimgen.runtimes.flags import snapshot_for

    snapshot = snapshot_for(runtime)
    argv = build_argv(runtime, checkpoint, flags, port=port or runtime.port, host=host_to_pass(runtime, snapshot),
                      snapshot=snapshot)
    return tuple(argv[len(runtime.command):])


def feature_words(runtime, args: dict[str, Any]) -> tuple[str, ...]:
    """The argv words a feature appends to the engine's command line, spelled as the engine's parser wants."""
    from aimgen.runtimes.argv import args_words
    from aimgen.runtimes.flags import snapshot_for

    return tuple(args_words(runtime, args, snapshot_for(runtime)))


def _check_engine(runtime, args: dict, env: dict, profile, where: tuple[str, str] | None = None) -> None:
    """Flags and env against the snapshot of the engine version the image carries: a removed flag fails here,
    with the hint the snapshot gives, not in a crash-looping pod."""
    from aimgen.findings import ERROR
    from aimgen.runtimes.flags import check_engine_config

    file, path = (profile.file, f"profiles[{profile.index}]") if profile else (where or ("planned profile", ""))
    errors = [f for f in check_engine_config(runtime, args, env, file=file, path=path) if f.level == ERROR]
    if errors:
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(f"{first.path}: {first.message}{more}", file=first.file)


def _secret_problem(argv: tuple[str, ...], env: dict) -> str | None:
    """The first credential in an argv or env (aimgen.secrets), as the message that refuses it."""
    from aimgen import secrets

    return secrets.argv_problem(argv) or next(
        (m for k, v in sorted(env.items()) if (m := secrets.env_problem(k, v))), None)


def _refuse_secrets(argv: tuple[str, ...], env: dict, profile) -> None:
    """The last look before argv and env reach a manifest: recipe loading already refuses credentials, this also
    covers runtime defaults and planned args (the chart's schema applies the same rule to its values)."""
    problem = _secret_problem(argv, env)
    if problem:
        raise InvalidInput(problem, file=profile.location if profile else "planned profile")


def _given(runtime, overrides: Overrides | None) -> tuple[dict, dict]:
    """The user's flags and env, checked before any arithmetic. What aimgen derives itself (parallelism, port, model
    name, revision) is refused: it follows from --gpus and the runtime; so is the context, which has its own
    option. The settings the memory check reads (planning.profile_fit.fit_flags) are honoured through it."""
    if overrides is None:
        return {}, {}
    names = runtime.flag_names
    reserved = _role_flags(names) | {names.get("host")} | SHAPE_FLAGS
    for key, value in overrides.args:
        if key == names.get("max_model_len"):
            raise UsageError(f"--engine-arg {key}: give --max-model-len N instead, which is checked against GPU "
                             "memory for the chosen shape")
        if key in reserved:
            raise UsageError(f"--engine-arg {key}: aimgen sets it itself (from --gpus, the runtime and the model); "
                             "leave it out")
        if (why := _setting_problem(names, key, value)):
            raise UsageError(f"--engine-arg {key}={value}: {why}")
    given_args, given_env = dict(overrides.args), dict(overrides.env)
    problem = _secret_problem(tuple(f"--{k}={v}" for k, v in given_args.items()), given_env)
    if problem:
        raise UsageError(f"--engine-arg/--env: {problem}")
    try:
        _check_engine(runtime, given_args, given_env, None, where=("--engine-arg/--env", runtime.engine))
    except InvalidInput as exc:  # the user's own option, not a file: a usage error (exit 2)
        raise UsageError(f"--engine-arg/--env: {exc.message}") from None
    return given_args, given_env


def _setting_problem(names: dict, key: str, value: Any) -> str | None:
    """What the memory check cannot read in a value for one of its settings (the engine's parser takes any
    number; the arithmetic and the engine at start-up do not)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == names.get("gpu_memory_utilization") and not (number and 0 < value <= 1):
        return "expected a fraction of GPU memory in (0, 1], e.g. 0.9"
    if key == names.get("max_num_seqs") and not (number and isinstance(value, int) and value >= 1):
        return "expected a positive whole number of sequences, e.g. 256"
    return None


def _refuse_unfit(what: str, fit, given: dict, hints: list[str], location: str | None) -> None:
    """An override of a setting the memory check reads that leaves the shape without room: exit 3, with the
    values of those settings that would fit (never a quietly changed value, never a pod that cannot start)."""
    flags = " ".join(f"--engine-arg {k}={v}" for k, v in given.items())
    would = "; would work: " + ", or ".join([*hints, f"without {flags}"])
    raise NoFeasiblePlan(f"{what} with {flags} does not fit: {fit.reason}{would}", file=location)


def _runtime_spec(runtime, gfx: str, port: int | None = None, multinode: bool = False) -> RuntimeSpec:
    """Named once the release is known (compose): until then, by plugin and GPU generation."""
    image = runtime.image_for(gfx)
    return RuntimeSpec(
        name=f"{runtime.name}-{gfx}",  # replaced by the release-scoped name in compose()
        plugin=runtime.name,
        gfx=gfx,
        engine=runtime.engine,
        engine_version=runtime.engine_version,
        image=image,
        command=tuple(runtime.command),
        port=port or runtime.port,
        health_path=runtime.health_path,
        metrics_path=runtime.metrics_path,
        multinode=multinode,
    )


def decide(req: Request, name: str, *, port: int | None = None, model_path: str | None = None,
           to_head: str = WORKER_TO_HEAD, overrides: Overrides | None = None) -> Decision:
    return realize(select(req), name, port=port, model_path=model_path, to_head=to_head, overrides=overrides)


def realize(selection: Selection, name: str, *, port: int | None = None, model_path: str | None = None,
            to_head: str = WORKER_TO_HEAD, overrides: Overrides | None = None) -> Decision:
    """A selection made concrete: parallelism, engine argv, env, sizes. `port` overrides the runtime's serving
    port; `model_path` replaces the checkpoint id as the engine's model (a folder KServe filled); `to_head` is how
    a multi-node group's workers reach its head (aimgen.multinode.rendezvous_flags)."""
    from aimgen.cache.plan import cache_size_bytes, compile_cache_env
    from aimgen.planning.drafts import draft_repos
    from aimgen.recipes import features
    from aimgen.runtimes.registry import runtime_for_backend

    req = selection.request
    model, gpu = req.model, req.pool.gpu
    profile = selection.profile
    # a profile may name the runtime (engine version) it needs; the planner's shapes run on the backend's default
    runtime = profile.serving_runtime() if profile else runtime_for_backend(selection.backend)
    names = runtime.flag_names
    if profile is not None:
        # before any arithmetic: a removed or mistyped flag gets the snapshot's hint, not a sizing error
        _check_engine(runtime, profile.args, profile.env, profile)
    given_args, given_env = _given(runtime, overrides)
    from aimgen.planning.profile_fit import derived_fit, fit_flags, profile_fit, what_fits

    # Overrides of what the memory check reads are laid over the profile before it: the arithmetic runs on what
    # the engine will be given, and an override that leaves no room exits 3 here, saying what would fit.
    modeled = {k: v for k, v in given_args.items() if k in fit_flags(names)}
    if profile is None:
        from aimgen.planning.planner import plan  # only here: a cited profile never loads the planner's search

        gmu = modeled.get(names.get("gpu_memory_utilization"))
        gmu = gmu if isinstance(gmu, (int, float)) and not isinstance(gmu, bool) else None
        try:  # the planner sizes the shape at the user's utilization
            the_plan = plan(model, req.pool, precision=selection.precision, metric=selection.metric,
                            backend=selection.backend, gpus=req.gpus, max_model_len=req.max_model_len,
                            gpu_memory_utilization=gmu)
        except NoFeasiblePlan as exc:
            if gmu is None:
                raise
            raise NoFeasiblePlan(f"with --engine-arg {names['gpu_memory_utilization']}={gmu}: {exc.message}; or "
                                 "without that --engine-arg") from None
        shape = the_plan.shape
        args = {**the_plan.args, **given_args}
        env = dict(the_plan.env)
        checkpoint = model.checkpoints.get(selection.precision, model.id)
        revision = model.revision
        profile_id = (f"planned-{model_name(model.id)}-{gpu.name}-x{shape.world_size}-{selection.precision}-"
                      f"{selection.metric}")
        source_title = "planned from the model architecture (no recipe profile)"
        fit = profile_fit(model, gpu, the_plan.precision, args, names, shape) if modeled else None
    else:
        args = {**profile.args, **given_args}
        env = dict(profile.env)
        checkpoint = profile.checkpoint or model.checkpoints.get(profile.precision, model.id)
        revision = profile.revision or (model.revision if checkpoint == model.id else None)
        if selection.derived:
            # Same env and tuning as the cited profile; TP from the pinned GPU count, context recomputed for it.
            shape = from_flags(selection.gpus, profile.nodes, args)
            # select() sized it with the profile's own settings: an override of one is sized again
            the_plan = selection.fit if selection.fit and not modeled else derived_fit(
                model, gpu, profile.precision, args, names, shape, max_model_len=req.max_model_len)
            args[names["max_model_len"]] = the_plan.max_model_len
            profile_id = (f"{model_name(model.id)}-{gpu.name}-x{selection.gpus}-{profile.precision}-"
                          f"{profile.backend}-{profile.metric}-derived")
            source_title = f"derived from {profile.id} ({profile.source['title']})"
        else:
            shape = from_flags(profile.gpus, profile.nodes, args)
            if req.max_model_len:
                args[names["max_model_len"]] = req.max_model_len
            the_plan = profile_fit(model, gpu, profile.precision, args, names, shape)
            profile_id = profile.id
            source_title = profile.source["title"]
        fit = the_plan
        if not fit.fits and not modeled:
            raise NoFeasiblePlan(f"profile {profile_id} does not fit: {fit.reason}", file=profile.location)
    if fit is not None and not fit.fits:
        what = f"profile {profile_id}" if profile else f"planned {profile_id}"
        _refuse_unfit(what, fit, modeled, what_fits(model, gpu, selection.precision, args, names, shape, modeled),
                      profile.location if profile else None)
    env = {**env, **given_env}
    # Features only add flags (after the user's own, which they may not change): words appended to the argv.
    added, feature_lines = features.switch_on(model.id, selection.backend, args, req.features)
    if profile is None or added:
        # what the engine will be given, features included, against the pinned engine's own parser snapshot
        _check_engine(runtime, {**args, **added}, env, profile)
    # Every feature this profile offers, as the argv words it appends: the chart appends the same words.
    offered_args = features.offered(model.id, selection.backend, args)
    offered = {name: feature_words(runtime, extra) for name, extra in offered_args.items()}
    # The Hub repos the engine loads besides the checkpoint (a draft model), the profile's and each feature's.
    repos = draft_repos(runtime, {**runtime.default_args, **args}, checkpoint)
    feature_repos = {name: tuple(r for r in draft_repos(runtime, {**runtime.default_args, **args, **extra}, checkpoint)
                                 if r not in repos) for name, extra in offered_args.items()}
    switched = tuple(offered[name] for name in req.features)
    check_shape(shape, selection.backend, f"profile {profile_id}" if profile else f"planned {model.id}",
                file=profile.location if profile else None)
    nodes = shape.nodes
    runtime_spec = _runtime_spec(runtime, gpu.gfx, port, multinode=nodes > 1)
    env = {**runtime.env, **multinode_env(nodes), **env}
    if revision and not model_path and not names.get("revision"):
        model_path = _pinned_folder(runtime, checkpoint, revision, profile)
    # A local folder has no revisions: the pinned commit is what KServe's storage initializer downloaded.
    flags = engine_flags(runtime, served_name=model.id, revision=None if model_path else revision, tp=shape.tensor,
                         pp=shape.pipeline, args=args)
    worker_argv: tuple[str, ...] = ()
    if nodes > 1:
        worker_argv = engine_args(runtime, model_path or checkpoint, {**flags, **rendezvous_flags(shape, "worker", to_head)},
                                  port) + sum(switched, ())
        flags = {**flags, **rendezvous_flags(shape, "head")}
    argv = engine_args(runtime, model_path or checkpoint, flags, port) + sum(switched, ())
    flags = {**flags, **added}
    _refuse_secrets(argv, env, profile)
    weights = int(the_plan.weights_bytes)
    # The cache holds the checkpoint as published (bf16 files that vLLM quantizes at load, DeepSeek's MTP layer);
    # start-up reads it all, so both the claim and the startup probe are sized to it.
    on_disk = int(getattr(the_plan, "checkpoint_bytes", weights) or weights)
    probes = Probes(
        path=runtime.health_path,
        startup_failure_threshold=startup_failure_threshold(on_disk, Probes.period_seconds),
    )
    gpus_per_pod = shape.gpus_per_node
    serving = ServingSpec(
        name=name,
        model=model.id,
        checkpoint=checkpoint,
        revision=revision,
        profile_id=profile_id,
        source=selection.source,
        source_title=source_title,
        gpu=gpu.name,
        gpus=gpus_per_pod,
        precision=selection.precision,
        backend=selection.backend,
        metric=selection.metric,
        nodes=nodes,
        tensor_parallel_size=shape.tensor,
        pipeline_parallel_size=shape.pipeline,
        runtime=runtime_spec.name,
        args=argv,
        env=tuple(sorted(env.items())),
        shm_size=shm_size(gpus_per_pod),
        weights_bytes=weights,
        cache_bytes=cache_size_bytes(on_disk),
        probes=probes,
        parallelism=shape,
        worker_args=worker_argv,
        features=tuple(offered.items()),
        switched_on=tuple(req.features),
        repos=repos,
        feature_repos=tuple(feature_repos.items()),
        compile_env=tuple(compile_cache_env(CACHE_MOUNT_PATH, runtime_spec.image, gpu.gfx,
                                            runtime.compile_caches).items()),
        fallbacks=selection.fallbacks,
        derived_from=profile.id if selection.derived else "",
    )
    return Decision(selection, the_plan, serving, runtime_spec, engine_flags=flags, features=feature_lines)


def _pinned_folder(runtime, checkpoint: str, revision: str, profile) -> str:
    """An engine with no revision flag (ATOM) would resolve `main`, which a pinned prefetch does not write: it is
    given the commit's snapshot folder on the cache volume instead (the served name stays the model id)."""
    from aimgen.cache.plan import hub_dir, snapshot_folder

    folder = snapshot_folder(hub_dir(CACHE_MOUNT_PATH), checkpoint, revision)
    if folder is None:
        raise InvalidInput(f"{checkpoint} is pinned to {revision!r}, but runtime {runtime.name} has no revision flag, "
                           "so it is served from the commit's snapshot folder: pin a full 40-character commit",
                           file=profile.location if profile else None)
    return folder


def _refuse_role_overrides(name: str, features: tuple[str, ...], overrides: Overrides | None) -> None:
    """The prefill and decode roles run the cited P/D configuration's argv (disaggregation() below), not the
    profile's: a feature or an engine override would be dropped from both without a word, so it is refused."""
    asked = [f"--feature {f}" for f in features]
    asked += ["--engine-arg"] if overrides and overrides.args else []
    asked += ["--env"] if overrides and overrides.env else []
    if asked:
        raise NoFeasiblePlan(f"{name}: {', '.join(asked)} would not reach the prefill/decode roles, which run the "
                             "cited P/D configuration's engine arguments (recipes/catalog/disaggregation.yaml); "
                             f"would work: no --disaggregate, or drop {', '.join(asked)}")


def disaggregation(d: Decision, model_path: str | None) -> DisaggregationSpec:
    """Prefill and decode roles from the cited P/D configuration for this model x GPU x precision: each with its
    own TP, replicas and argv, both loading the configuration's KV connector (refused when none is cited)."""
    from aimgen.planning import disagg
    from aimgen.planning.planner import fit_check
    from aimgen.runtimes.registry import get_runtime

    svc, req = d.serving, d.selection.request
    cfg = disagg.find(svc.model, svc.gpu, svc.precision, svc.backend)
    runtime = get_runtime(d.runtime.plugin)  # the image the roles run is the decision's
    gpus_per_node = req.pool.gpus_per_node
    roles = []
    # KServe's presets: prefill's engine takes the pod's port 8000; decode's sits behind the routing sidecar on 8001.
    for name, role, port in (("prefill", cfg.prefill, LLMISVC_PORT), ("decode", cfg.decode, LLMISVC_DECODE_ENGINE_PORT)):
        tp = role.tensor_parallel_size
        args = {**role.args, "kv-transfer-config": cfg.kv_transfer_config(role)}
        _check_engine(runtime, args, role.env, None, where=("recipes/catalog/disaggregation.yaml", f"{cfg.id}.{name}"))
        if tp > gpus_per_node:
            raise NoFeasiblePlan(f"P/D configuration {cfg.id}: {name} needs {tp} GPUs per pod, the node pool has "
                                 f"{gpus_per_node} per node")
        context = args.get("max-model-len") or req.model.config.get("max_position_embeddings")
        fit = fit_check(req.model, req.pool.gpu, svc.precision, tp, 1, max_model_len=context,
                        max_num_seqs=args.get("max-num-seqs"),
                        gpu_memory_utilization=args.get("gpu-memory-utilization"), kv_cache_dtype=None)
        if not fit.fits:
            raise NoFeasiblePlan(f"P/D configuration {cfg.id}: {name} at TP={tp} does not fit: {fit.reason}")
        flags = engine_flags(runtime, served_name=svc.model, revision=None if model_path else svc.revision,
                             tp=tp, pp=1, args=args)
        roles.append(RoleSpec(
            role=name, replicas=role.replicas, gpus=tp, tensor_parallel_size=tp, port=port,
            args=engine_args(runtime, model_path or svc.checkpoint, flags, port),
            env=tuple(sorted({**runtime.env, **role.env}.items())), shm_size=shm_size(tp),
            pod_ip_env=disagg.CONNECTOR_POD_IP_ENV[cfg.connector],
        ))
    return DisaggregationSpec(cfg.id, cfg.source_title, cfg.connector, prefill=roles[0], decode=roles[1])


def _check_llmisvc(options: Options) -> None:
    """Options that mean something only for one API, refused (exit 2) where they would be silently dropped."""
    if options.api == API_LLMISVC:
        if options.autoscale:
            raise UsageError("--autoscale drives KServe's KEDA scaling of an InferenceService; with --api llmisvc "
                             "give fixed replicas (KServe's LLMInferenceService scaling needs its WVA operator)")
        if options.ingress_host:
            raise UsageError("--ingress-host exposes an InferenceService's predictor; with --api llmisvc traffic "
                             "enters through the router's Gateway (--gateway NAME[/NAMESPACE])")
        if options.cluster_runtime:
            raise UsageError("--cluster-runtime renders a ClusterServingRuntime, which --api llmisvc does not use")
        return
    if options.disaggregate:
        raise UsageError("--disaggregate needs --api llmisvc (KServe's LLMInferenceService `prefill` section)")


def _token_secret(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    from aimgen.validate.apirules import secret_key

    name, _, key = value.partition(":")
    if not name or dns_label(name) != name:
        raise UsageError(f"--hf-token-secret {value!r}: expected SECRET_NAME[:KEY] with a valid Secret name")
    if key and (why := secret_key(key)):
        raise UsageError(f"--hf-token-secret {value!r}: the key {key!r} {why}")
    return (name, key or "token")


def _cache_size(services: list[ServingSpec], source: ModelSource | str | None) -> str:
    """The claim holds the weights (sized to them), or with a --model-source only the compile/JIT caches: the
    smallest claim the cache sizes (cache.plan.MIN_CACHE_BYTES); --cache-size overrides either."""
    from aimgen.cache.plan import MIN_CACHE_BYTES

    if source:
        return f"{MIN_CACHE_BYTES // GIB}Gi"
    return f"{sum(service_cache_gib(s) for s in services)}Gi"


def service_cache_gib(svc: ServingSpec) -> int:
    """The claim one model needs: its checkpoint's, plus each repo prefetched beside it whose size is known."""
    from aimgen.cache.plan import extra_cache_gib

    return cache_gib(svc.cache_bytes) + sum(extra_cache_gib(r.size_bytes) for r in svc.extra_repos)


def _refuse_unfetched(svc: ServingSpec, option: str) -> None:
    """A model whose engine loads a Hub repo besides its weights (a draft model) cannot take them from a
    --model-source or a LocalModelCache: nothing of ours downloads there and the engine reads the cache offline."""
    if not svc.extra_repos:
        return
    added = dict(svc.feature_repos)
    repo = svc.extra_repos[0].repo
    by = [name for name in svc.switched_on if any(r.repo == repo for r in added.get(name, ()))]
    instead = f", or without --feature {by[0]}" if by else ""
    raise NoFeasiblePlan(f"{svc.name}: the engine also loads the draft model {repo} from the Hub, but with {option} "
                         "nothing of aimgen's downloads it and the engine runs offline; would work: without "
                         f"{option} (the model cache prefetches the checkpoint and the draft model){instead}")


def repo_notes(svc: ServingSpec, cache: CacheSpec, size_given: bool) -> tuple[tuple[bool, str], ...]:
    """What the cache holds besides the checkpoint, and whether the claim's size counts it (explain; render warns
    the lines marked True: a claim that may have no room for a repo)."""
    if not cache.enabled:
        return tuple((False, f"draft model {r.repo}: the engine downloads it at start-up (no model cache)")
                     for r in svc.extra_repos)
    from aimgen.cache.plan import HEADROOM_FIXED, HEADROOM_FRACTION, extra_cache_gib

    headroom = f"+{HEADROOM_FRACTION:.0%} +{HEADROOM_FIXED // GIB} GiB"
    notes = []
    for r in svc.extra_repos:
        what = f"draft model {r.repo}" + (f" at {r.revision}" if r.revision else "") + " prefetched beside the checkpoint"
        if r.size_bytes:
            notes.append((False, f"{what}; {extra_cache_gib(r.size_bytes)} GiB of the cache claim are for it"))
        elif size_given:
            notes.append((False, f"{what}; its size is unknown to aimgen: --cache-size {cache.size} must hold it"))
        else:
            notes.append((True, f"{what}; its size is unknown to aimgen (not a catalog model), so the cache claim "
                                f"is sized for the checkpoint only ({headroom}); give --cache-size with room for it"))
    return tuple(notes)


def compose(requests: list[tuple[Request, str | None]], pool: NodePool, options: Options) -> tuple[DeploymentSpec, list[Decision]]:
    """Build the spec for one release serving one or more models."""
    if not requests:
        raise UsageError("nothing to render: give a MODEL")
    _check_llmisvc(options)
    llmisvc = options.api == API_LLMISVC
    port = LLMISVC_PORT if llmisvc else None
    source, local = options.model_source, options.local_model_cache
    check_sources(source, local, options.storage_secret, models=len(requests), llmisvc=llmisvc,
                  prefetch_job=options.prefetch_job)
    # Without our cache KServe's storage initializer downloads model.uri (hf://) into /mnt/models for the engine;
    # a --model-source is there too (pvc:// mounted, s3:// downloaded, oci:// linked from the model car).
    model_path = KSERVE_MODEL_PATH if source or local else \
        LLMISVC_MODEL_PATH if llmisvc and not options.cache_enabled else None
    decisions: list[Decision] = []
    used: set[str] = set()
    for req, explicit in requests:
        name = dns_label(explicit, 45) if explicit else model_name(req.model.id)
        if name in used:
            raise UsageError(f"two deployments would both be named {name!r}; give each a distinct name")
        used.add(name)
        # An LLMInferenceService's workers find their leader through the LeaderWorkerSet (render/llmisvc.py).
        d = decide(req, name, port=port, model_path=model_path,
                   to_head=LWS_WORKER_TO_LEADER if llmisvc else WORKER_TO_HEAD, overrides=options.overrides)
        if source or local:
            _refuse_unfetched(d.serving, "--model-source" if source else "--local-model-cache")
            # A LocalModelCache matches the InferenceService by this URI and mounts its node-local copy instead.
            uri = source.uri if source else hf_uri(d.serving.checkpoint, d.serving.revision)
            d = replace(d, serving=replace(d.serving, storage_uri=uri))
        if llmisvc and options.disaggregate and d.serving.multinode:
            raise NoFeasiblePlan(f"{name}: {d.serving.shape.label} spans {d.serving.nodes} nodes, but the cited "
                                 "prefill/decode roles run on one node each; would work: --disaggregate without "
                                 "--gpus (the P/D configuration sizes each role), or no --disaggregate")
        if llmisvc and not options.disaggregate:
            check_lws_group(d.serving.shape, cache_enabled=options.cache_enabled, access_mode=pool.cache_access_mode,
                            where=name)
        if not llmisvc:
            check_group(d.serving.shape, cache_enabled=options.cache_enabled, access_mode=pool.cache_access_mode,
                        autoscale=options.autoscale, where=name,
                        source_scheme=source.scheme if source else "hf" if local else None)
        if options.disaggregate:
            _refuse_role_overrides(name, req.features, options.overrides)
            d = replace(d, serving=replace(d.serving, disaggregation=disaggregation(d, model_path)))
        decisions.append(d)
    release = dns_label(options.name) if options.name else decisions[0].serving.name
    replicas = options.autoscale or (1, 1)
    runtimes: dict[str, RuntimeSpec] = {}
    services = []
    for d in decisions:
        rt = replace(d.runtime, name=runtime_name(release, d.runtime.base_name))
        if runtimes.setdefault(rt.name, rt) != rt:
            raise InvalidInput(f"{d.serving.name}: runtime {rt.name} is used by another deployment with a different "
                               "image or command")
        services.append(replace(d.serving, runtime=rt.name, min_replicas=replicas[0], max_replicas=replicas[1]))
    cache = CacheSpec(
        enabled=options.cache_enabled,
        claim_name=options.existing_claim or dns_label(f"{release}-cache"),
        existing_claim=options.existing_claim,
        size=options.cache_size or _cache_size(services, source or local),
        storage_class=pool.storage_class,
        access_mode=pool.cache_access_mode,
        mount_path=CACHE_MOUNT_PATH,
        prefetch_job=options.prefetch_job and options.cache_enabled and not (source or local),
        init_container=options.init_container and options.cache_enabled and not (source or local),
        image=options.cache_image or "",
    )
    placement = Placement(
        node_selector=tuple(sorted(pool.node_selector.items())),
        device_ids=pool.gpu.device_ids if pool.match_device_ids else (),
        tolerations=pool.tolerations,
        priority_class_name=pool.priority_class_name,
        cpu_per_gpu=pool.cpu_per_gpu,
        memory_gib_per_gpu=pool.memory_gib_per_gpu,
    )
    allowed_namespaces = options.allowed_namespaces
    if llmisvc and options.router == ROUTER_SCHEDULER:
        # The Gateway's data plane forwards to the engines' port: let its namespace through the NetworkPolicy.
        gateway_ns = options.gateway[1] if options.gateway else KSERVE_GATEWAY_NAMESPACE
        if gateway_ns and gateway_ns not in allowed_namespaces:
            allowed_namespaces += (gateway_ns,)
    autoscaling = AutoscalingSpec(enabled=True, min_replicas=options.autoscale[0], max_replicas=options.autoscale[1]) \
        if options.autoscale else AutoscalingSpec()
    spec = DeploymentSpec(
        release=release,
        namespace=options.namespace,
        runtimes=tuple(runtimes.values()),
        services=tuple(services),
        cluster_runtime=options.cluster_runtime,
        cache=cache,
        placement=placement,
        hf_token_secret=_token_secret(options.hf_token_secret),
        hf_endpoint=options.hf_endpoint or "",
        local_model=local_model(local, dns_label(f"{options.namespace}-{release}"), services, placement),
        storage_secret=options.storage_secret or "",
        service_account=dns_label(f"{release}-serving"),
        monitoring=MonitoringSpec(enabled=options.monitoring, startup_grace_minutes=startup_grace_minutes(services)),
        autoscaling=autoscaling,
        exposure=ExposureSpec(
            allowed_namespaces=allowed_namespaces,
            ingress_host=options.ingress_host,
            ingress_class=options.ingress_class,
            tls_secret=options.tls_secret,
            gateway=options.gateway,
        ),
        api=options.api,
        router=options.router,
    )
    decisions = [replace(d, repo_notes=repo_notes(svc, cache, options.cache_size is not None))
                 for d, svc in zip(decisions, services)]
    return spec, decisions
