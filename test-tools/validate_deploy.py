#!/usr/bin/env python3
"""Checks Cairn's deployment files against each other and against the code, without a container engine or a cluster.

    python test-tools/validate_deploy.py [--verbose] [--k8s-version 1.30]

What it checks (exit status 1 and a FAIL line per problem if anything is off):
- deploy/Dockerfile: same build packages as scripts/local-infra (and README.md), the same `swift build` product
  and configuration as scripts/bench plus a static Swift runtime, a toolchain new enough for Package.swift, the
  runtime libraries for what is linked, a non-root numeric user, the `cairn` entrypoint.
- docker-compose.yml: the compose-spec JSON schema (vendored by the check-jsonschema package, so offline), then
  the wiring: every role present, roles wait for `migrate` to complete and for every RabbitMQ node, a health
  check on every long-running service probing a route the code serves on the port the role listens on,
  replicas, published ports, variables the code reads, URLs that name real services, a consistent RabbitMQ cluster
  with the broker plugins the topology needs (an exchange type such as x-consistent-hash) enabled on every node.
- deploy/prometheus and deploy/grafana: scrape targets are compose services on the right ports; every metric
  name in the alert rules and the dashboard is one the code registers (read from Sources/) or one RabbitMQ's
  exporter publishes; the dashboard uses the provisioned data source; the backlog and no-consumer alerts and the
  dashboard's queue panels select every work queue (cairn.events.work.0 to .N-1) and no other queue.
- deploy/rabbitmq/definitions.json: the exchanges, work queues and bindings of CairnTopology.
- deploy/k8s: every built-in resource against the Kubernetes OpenAPI schemas bundled in kubernetes-validate
  (strict: unknown fields fail); the CRDs (KEDA ScaledObject and TriggerAuthentication, RabbitmqCluster)
  structurally; probes on /healthz and /readyz that the code serves, on the container port the role listens
  on; resources, PodDisruptionBudgets, ConfigMap and Secret references, Services, the migrate Job, a
  ScaledObject on all the work queues the workers consume (no more replicas than partitions), and a
  RabbitmqCluster with the broker plugins the topology needs.
- deploy/cairn-healthcheck: run against a throw-away HTTP server on 127.0.0.1 (200 passes, 503 and a closed
  port fail).
Routes, ports, settings, metric names and queue names come from Sources/ by regular expressions; if the code
changes shape so that one of them is not found, that is a failure too, never a silent pass.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate.utils as k8s_schemas
import yaml

ROOT = Path(__file__).resolve().parent.parent

# The Kubernetes release the manifests are validated against (kubernetes-validate ships schemas 1.25 to 1.37).
DEFAULT_K8S_VERSION = "1.30"

# Routes the deployment already probes although the code does not serve them yet, with the reason. Reported as
# PENDING (not a failure) until the code serves them; then the entry is reported as stale and should be removed.
PENDING_ROUTES: dict = {}

# Which listener serves each role's HTTP, and the variable that sets its port.
ROLE_LISTENER = {"ingest": "ingest", "api": "api", "worker": "metrics", "escalator": "metrics"}
ROLE_PORT_VARIABLE = {
    "ingest": "CAIRN_INGEST_PORT", "api": "CAIRN_API_PORT", "worker": "CAIRN_METRICS_PORT",
    "escalator": "CAIRN_METRICS_PORT",
}
LISTENER_SOURCES = {
    "ingest": ["Sources/CairnIngest"], "api": ["Sources/CairnAPI"], "metrics": ["Sources/CairnHTTP/MetricsRoute.swift"],
}

# scripts/local-infra installs the servers too; these are not build dependencies.
SERVER_PACKAGES = {"rabbitmq-server", "postgresql"}
# The shared library each -dev package links the binary against (pkg-config is build-time only).
RUNTIME_PACKAGE_FOR = {"librabbitmq-dev": "librabbitmq4", "zlib1g-dev": "zlib1g", "pkg-config": None}

# Names RabbitMQ's Prometheus plugin (rabbitmq_prometheus) publishes that the dashboards and alerts may use:
# /metrics/detailed families queue_coarse_metrics and queue_consumer_count, and the aggregated /metrics.
RABBITMQ_METRICS = {
    "rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_process_reductions_total",
    "rabbitmq_detailed_queue_consumers", "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_messages", "rabbitmq_queue_consumers", "rabbitmq_identity_info", "rabbitmq_build_info",
    "rabbitmq_alarms_memory_used_watermark", "rabbitmq_alarms_free_disk_space_watermark",
}
PROMETHEUS_METRICS = {"up", "scrape_duration_seconds"}

# Spec fields of rabbitmq.com/v1beta1 RabbitmqCluster (RabbitMQ Cluster Operator 2.x).
RABBITMQ_CLUSTER_SPEC_FIELDS = {
    "replicas", "image", "imagePullSecrets", "service", "persistence", "resources", "affinity", "tolerations",
    "rabbitmq", "tls", "override", "skipPostDeploySteps", "terminationGracePeriodSeconds", "delayStartSeconds",
    "secretBackend", "autoEnableAllFeatureFlags",
}
KEDA_SCALEDOBJECT_SPEC_FIELDS = {
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
    "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
}
KEDA_RABBITMQ_METADATA = {
    "host", "hostFromEnv", "protocol", "queueName", "mode", "value", "activationValue", "vhostName",
    "useRegex", "excludeUnacknowledged", "pageSize", "operation", "timeout", "unsafeSsl",
}
KEDA_RABBITMQ_AUTH_PARAMETERS = {"host", "username", "password", "tls", "ca", "cert", "key", "keyPassword"}
# Fields of RabbitmqCluster.spec.rabbitmq.
RABBITMQ_CLUSTER_RABBITMQ_FIELDS = {
    "additionalConfig", "additionalPlugins", "advancedConfig", "envConfig", "erlangInetConfig",
}

# The broker plugin that provides each non-built-in exchange type the topology may declare. A type missing here is a
# failure: add its plugin, so that the deployments are checked to enable it.
PLUGIN_FOR_EXCHANGE_TYPE = {"x-consistent-hash": "rabbitmq_consistent_hash_exchange"}
# Plugins the official rabbitmq:<version>-management image enables (rabbitmq_prometheus in every image,
# rabbitmq_management in the -management ones). A mounted enabled_plugins file replaces that list, so it must keep
# them: Prometheus scrapes port 15692 and compose publishes the management UI.
IMAGE_PLUGINS = {"rabbitmq_prometheus"}
MANAGEMENT_IMAGE_PLUGINS = IMAGE_PLUGINS | {"rabbitmq_management"}


# ----------------------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------------------

@dataclass
class Report:
    verbose: bool = False
    section: str = ""
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, condition: bool, message: str, detail: str = "") -> bool:
        if condition:
            self.passed += 1
            if self.verbose:
                print(f"  ok    {self.section}: {message}")
        else:
            text = f"{self.section}: {message}" + (f" ({detail})" if detail else "")
            self.failures.append(text)
            print(f"  FAIL  {text}")
        return condition

    def fail(self, message: str, detail: str = "") -> None:
        self.check(False, message, detail)

    def pend(self, message: str) -> None:
        self.pending.append(f"{self.section}: {message}")
        print(f"  PENDING  {self.section}: {message}")

    def note(self, message: str) -> None:
        self.notes.append(f"{self.section}: {message}")
        print(f"  note  {self.section}: {message}")


def read(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def load_yaml_documents(path: str) -> list:
    return [doc for doc in yaml.safe_load_all(read(path)) if doc is not None]


# ----------------------------------------------------------------------------------------------------------
# What the code says
# ----------------------------------------------------------------------------------------------------------

@dataclass
class Code:
    roles: list[str]
    commands: set[str]
    settings: dict[str, str]
    routes: dict[str, set[str]]
    metrics: set[str]
    event_queues: list[str]  # the work queues, cairn.events.work.0 .. N-1, in partition order
    queues: dict[str, str]  # every `static let name = "cairn.…"` of CairnTopology (queues and exchanges)
    broker_plugins: set[str]  # plugins the exchange types of the core topology need
    tools_version: tuple[int, ...]
    executable: str


def swift_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        full = ROOT / path
        out.extend(sorted(full.rglob("*.swift")) if full.is_dir() else [full])
    return out


def sanitize_metric_name(label: str) -> str:
    """What swift-prometheus does to a swift-metrics label: every character outside [A-Za-z0-9_:] becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_:]", "_", label)


def read_code(report: Report) -> Code:
    report.section = "code"
    roles_source = read("Sources/CairnApp/Roles.swift")
    match = re.search(r"enum Role\b[^{]*\{\s*case ([^\n]+)", roles_source)
    roles = [name.strip() for name in match.group(1).split(",")] if match else []
    report.check(bool(roles), "the Role enum lists the roles", "not found in Sources/CairnApp/Roles.swift")
    report.check("buildMetricsApplication(" in roles_source,
                 "roles without HTTP of their own start the metrics listener (CAIRN_METRICS_PORT)")

    main = "\n".join(read(f"Sources/cairn/{name}") for name in sorted(os.listdir(ROOT / "Sources/cairn")) if name.endswith(".swift"))
    commands: set[str] = set()
    sub = re.search(r"subcommands:\s*\[([^\]]*)\]", main)
    for type_name in re.findall(r"(\w+)\.self", sub.group(1) if sub else ""):
        body = re.search(rf"struct {type_name}\s*:\s*AsyncParsableCommand\s*\{{(.*?)(?=\nstruct |\Z)", main, re.S)
        named = re.search(r'commandName:\s*"([^"]+)"', body.group(1)) if body else None
        commands.add(named.group(1) if named else type_name.lower())
    report.check(set(roles) | {"migrate"} <= commands, "every role and `migrate` is a subcommand of cairn",
                 f"subcommands {sorted(commands)}")

    settings_source = read("Sources/CairnApp/CairnSettings.swift")
    block = re.search(r"static let defaults[^=]*=\s*\[(.*?)\n\s*\]", settings_source, re.S)
    settings = dict(re.findall(r'"([A-Z_]+)":\s*"([^"]*)"', block.group(1))) if block else {}
    report.check({"CAIRN_AMQP_URL", "CAIRN_DATABASE_URL", "CAIRN_INGEST_PORT", "CAIRN_API_PORT",
                  "CAIRN_METRICS_PORT", "CAIRN_HTTP_HOST"} <= set(settings),
                 "CairnSettings.defaults names the variables every role reads", f"found {sorted(settings)}")

    routes: dict[str, set[str]] = {}
    for listener, paths in LISTENER_SOURCES.items():
        served: set[str] = set()
        for path in swift_files(paths):
            text = path.read_text(encoding="utf-8")
            served |= set(re.findall(r'\brouter\.(?:get|head)\(\s*"(/[^"\\]*)"', text))
            if re.search(r"\.addMetricsRoute\(", text):
                served.add("/metrics")
        routes[listener] = served
        report.check("/healthz" in served and "/metrics" in served,
                     f"the {listener} listener serves /healthz and /metrics", f"found {sorted(served)}")

    metrics: set[str] = set()
    pattern = re.compile(r'\b(Counter|FloatingPointCounter|Timer|Recorder|Meter|Gauge)\(\s*label:\s*"([^"]+)"')
    for path in swift_files(["Sources"]):
        for kind, label in pattern.findall(path.read_text(encoding="utf-8")):
            name = sanitize_metric_name(label)
            if kind in ("Timer", "Recorder"):  # histograms (a Recorder aggregates unless told otherwise)
                metrics |= {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            else:
                metrics.add(name)
    report.check(len(metrics) >= 5, "metric names are found in Sources/", f"found {sorted(metrics)}")

    topology = read("Sources/CairnAMQP/AMQPTopology+Cairn.swift")
    queues = dict(re.findall(r'static let (\w+)\s*=\s*"(cairn\.[^"]+)"', topology))
    count = re.search(r"static let eventPartitions\s*=\s*(\d+)\b", topology)
    partitions = int(count.group(1)) if count else 0
    report.check(partitions > 0, "the number of work queues is found in CairnTopology (eventPartitions)")
    naming = re.search(r'static func eventsWork\(partition: Int\)\s*->\s*String\s*\{\s*"([^"\\]*)\\\(partition\)"\s*\}',
                       topology)
    prefix = naming.group(1) if naming else ""
    report.check(prefix.startswith("cairn."), "the work queues' names are found in CairnTopology (eventsWork(partition:))",
                 f"prefix {prefix!r}")
    report.check(re.search(r"static let eventQueues\s*=\s*\(0\.\.<eventPartitions\)\.map\s*\{\s*eventsWork\(partition:\s*\$0\)\s*\}",
                           topology) is not None,
                 "CairnTopology.eventQueues are eventsWork(partition:) for 0..<eventPartitions")
    event_queues = [f"{prefix}{partition}" for partition in range(partitions)] if prefix else []
    report.check(not set(event_queues) & set(queues.values()) and "eventsWork" not in queues,
                 "no other CairnTopology name is one of the work queues", str(sorted(set(event_queues) & set(queues.values()))))

    kinds = read("Sources/CairnAMQP/AMQPTopology.swift")
    exchange_types = dict(re.findall(r'case (\w+)\s*=\s*"(x-[^"]+)"', kinds))
    used_kinds = set(re.findall(r"kind:\s*\.(\w+)", topology))
    report.check(bool(used_kinds), "the exchange kinds of the core topology are found")
    broker_plugins: set[str] = set()
    for kind in sorted(used_kinds & set(exchange_types)):
        plugin = PLUGIN_FOR_EXCHANGE_TYPE.get(exchange_types[kind])
        if report.check(plugin is not None, f"the exchange type {exchange_types[kind]} has a known broker plugin",
                        "add it to PLUGIN_FOR_EXCHANGE_TYPE"):
            broker_plugins.add(plugin)

    package = read("Package.swift")
    version = re.search(r"swift-tools-version:\s*([\d.]+)", package)
    tools_version = tuple(int(p) for p in version.group(1).split(".")) if version else ()
    report.check(bool(tools_version), "Package.swift declares its swift-tools-version")
    executable = re.search(r'\.executable\(\s*name:\s*"([^"]+)"', package)
    report.check(bool(executable), "Package.swift declares an executable product")
    return Code(roles, commands, settings, routes, metrics, event_queues, queues, broker_plugins, tools_version,
                executable.group(1) if executable else "")


def check_route(report: Report, code: Code, role: str, path: str, where: str) -> None:
    listener = ROLE_LISTENER.get(role)
    if listener is None:
        report.fail(f"{where}: no HTTP listener is known for role {role!r}")
        return
    served = path in code.routes.get(listener, set())
    reason = PENDING_ROUTES.get((listener, path))
    if reason and not served:
        report.pend(f"{where} probes {path}: {reason}")
    else:
        report.check(served, f"{where} probes {path}, which the {listener} listener serves",
                     f"it serves {sorted(code.routes.get(listener, set()))}")


def check_stale_pending(report: Report, code: Code) -> None:
    report.section = "code"
    for (listener, path) in PENDING_ROUTES:
        if path in code.routes.get(listener, set()):
            report.note(f"the {listener} listener now serves {path}: remove it from PENDING_ROUTES")


def role_port(code: Code, role: str, environment: dict[str, str]) -> str:
    variable = ROLE_PORT_VARIABLE[role]
    return str(environment.get(variable) or code.settings.get(variable) or "")


# ----------------------------------------------------------------------------------------------------------
# Dockerfile
# ----------------------------------------------------------------------------------------------------------

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def apt_packages(command: str) -> list[str]:
    packages: list[str] = []
    for part in re.split(r"&&|;", command):
        words = part.split()
        if "apt-get" in words and "install" in words:
            packages += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return packages


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.match(r"(\d+(?:\.\d+)*)", text)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def check_dockerfile(report: Report, code: Code) -> None:
    report.section = "Dockerfile"
    instructions = dockerfile_instructions(read("deploy/Dockerfile"))
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    if not report.check(len(stages) >= 2, "multi-stage build", f"{len(stages)} stage(s)"):
        return
    build, runtime = stages[0], stages[-1]

    base = build[0][1].split()[0]
    image, _, tag = base.partition(":")
    report.check(image == "swift", "the build stage starts from the official swift image", base)
    toolchain = version_tuple(tag)
    report.check(toolchain >= code.tools_version, "the toolchain is at least Package.swift's swift-tools-version",
                 f"{tag} < {'.'.join(map(str, code.tools_version))}")
    checkouts = sorted((ROOT / ".build" / "checkouts").glob("*/Package.swift"))
    declared = [re.search(r"swift-tools-version:\s*([\d.]+)", p.read_text(encoding="utf-8")) for p in checkouts]
    declared_versions = [version_tuple(m.group(1)) for m in declared if m]
    if declared_versions:  # only where a build has resolved the dependencies (not in a fresh clone)
        needed = max(declared_versions)
        report.check(toolchain >= needed, "the toolchain is new enough for the resolved dependencies in .build",
                     f"{tag} < {'.'.join(map(str, needed))}")

    infra = read("scripts/local-infra")
    listed = re.search(r"APT_PACKAGES=\(([^)]*)\)", infra)
    infra_packages = set(listed.group(1).split()) if listed else set()
    report.check(bool(infra_packages), "scripts/local-infra lists its apt packages (APT_PACKAGES)")
    build_packages = infra_packages - SERVER_PACKAGES
    docker_build_packages = {p for keyword, rest in build if keyword == "RUN" for p in apt_packages(rest)}
    report.check(docker_build_packages == build_packages,
                 "the build stage installs the build packages of scripts/local-infra",
                 f"Dockerfile {sorted(docker_build_packages)} vs local-infra {sorted(build_packages)}")
    readme = read("README.md")
    for package in sorted(build_packages):
        report.check(f"`{package}`" in readme, f"README.md names the build package {package}")

    bench = re.search(r"^swift build (.*)$", read("scripts/bench"), re.M)
    reference = bench.group(1).split() if bench else []
    report.check(bool(reference), "scripts/bench has a release `swift build` line")
    builds = [rest for keyword, rest in build if keyword == "RUN" and "swift build" in rest]
    report.check(len(builds) >= 1, "the build stage runs `swift build`")
    for rest in builds[:1]:
        command = re.search(r"swift build ([^&;]*)", rest).group(1).split()
        report.check(all(arg in command for arg in reference) and _same_pairs(command, reference),
                     "`swift build` uses the arguments of scripts/bench", f"{command} vs {reference}")
        product = command[command.index("--product") + 1] if "--product" in command else ""
        report.check(product == code.executable, "`swift build` builds the executable product of Package.swift",
                     f"{product!r} vs {code.executable!r}")
        report.check("--static-swift-stdlib" in command, "the binary carries a static Swift runtime")

    runtime_base = runtime[0][1].split()[0]
    report.check(not (runtime_base.startswith("swift:") and "slim" not in runtime_base),
                 "the runtime stage is not the full toolchain image", runtime_base)
    runtime_packages = {p for keyword, rest in runtime if keyword == "RUN" for p in apt_packages(rest)}
    for dev, library in sorted(RUNTIME_PACKAGE_FOR.items()):
        if dev in build_packages and library:
            report.check(library in runtime_packages, f"the runtime stage installs {library} (for {dev})",
                         f"runtime installs {sorted(runtime_packages)}")
    unknown = build_packages - set(RUNTIME_PACKAGE_FOR)
    report.check(not unknown, "every build package has a known runtime counterpart",
                 f"add {sorted(unknown)} to RUNTIME_PACKAGE_FOR")
    report.check(not any(p.endswith("-dev") for p in runtime_packages), "no -dev packages at run time")
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    report.check(bool(users) and users[-1].split(":")[0] not in ("root", "0"),
                 "the runtime stage runs as a non-root user", f"USER {users[-1] if users else '(none)'}")
    report.check(bool(users) and users[-1].split(":")[0].isdigit(),
                 "the user is numeric, so Kubernetes can verify runAsNonRoot")
    entrypoint = [rest for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    report.check(bool(entrypoint) and json.loads(entrypoint[-1])[0].endswith("/" + code.executable),
                 "the entrypoint is the cairn executable", entrypoint[-1] if entrypoint else "(none)")
    exposed = {p.split("/")[0] for keyword, rest in runtime if keyword == "EXPOSE" for p in rest.split()}
    for variable in ("CAIRN_INGEST_PORT", "CAIRN_API_PORT"):
        report.check(code.settings.get(variable) in exposed, f"EXPOSE includes the default {variable}")
    for keyword, rest in instructions:
        if keyword == "COPY" and "--from=" not in rest:
            sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
            for source in sources:
                report.check(any(ROOT.glob(source)), f"COPY source {source} exists in the repository")
    copied = " ".join(rest for keyword, rest in runtime if keyword == "COPY")
    report.check("deploy/cairn-healthcheck" in copied, "the runtime image carries cairn-healthcheck")
    report.check(os.access(ROOT / "deploy/cairn-healthcheck", os.X_OK), "deploy/cairn-healthcheck is executable")


def _same_pairs(command: list[str], reference: list[str]) -> bool:
    """Options with a value (-c release, --product cairn) carry the same value in both."""
    for i, arg in enumerate(reference[:-1]):
        if arg.startswith("-") and not reference[i + 1].startswith("-"):
            if arg not in command or command.index(arg) + 1 >= len(command):
                return False
            if command[command.index(arg) + 1] != reference[i + 1]:
                return False
    return True


# ----------------------------------------------------------------------------------------------------------
# docker-compose.yml
# ----------------------------------------------------------------------------------------------------------

def interpolate(value: str) -> str:
    """Compose's ${NAME:-default} / ${NAME-default} / ${NAME} with an empty environment; $$ is a literal $."""
    value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)
    value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", "", value)
    return value.replace("$$", "$")


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {key: interpolate(str(value)) for key, value in environment.items()}


def depends_on(service: dict) -> dict[str, str]:
    value = service.get("depends_on") or {}
    if isinstance(value, list):
        return {name: "service_started" for name in value}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in value.items()}


def check_compose(report: Report, code: Code) -> dict:
    report.section = "compose"
    compose = yaml.safe_load(read("docker-compose.yml"))  # resolves the << merge keys as compose does
    schema = json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    report.check(not errors, "docker-compose.yml is valid against the compose-spec schema",
                 "; ".join(f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message[:160]}" for e in errors[:5]))
    services: dict = compose.get("services") or {}

    cairn = {name: s for name, s in services.items()
             if (s.get("build") or {}).get("dockerfile") == "deploy/Dockerfile"}
    report.check(bool(cairn), "Cairn services are built from deploy/Dockerfile")
    images = {s.get("image") for s in cairn.values()}
    report.check(len(images) == 1 and None not in images, "every Cairn service uses the one image", str(images))
    by_command: dict[str, list[str]] = {}
    for name, service in cairn.items():
        command = service.get("command") or []
        command = command.split() if isinstance(command, str) else command
        report.check(bool(command) and command[0] in code.commands, f"{name} runs a cairn subcommand", str(command))
        if command:
            by_command.setdefault(command[0], []).append(name)
    for role in code.roles + ["migrate"]:
        report.check(len(by_command.get(role, [])) == 1, f"exactly one service runs `cairn {role}`",
                     str(by_command.get(role)))

    rabbit_nodes = sorted(n for n, s in services.items() if str(s.get("image", "")).startswith("rabbitmq:"))
    report.check(len(rabbit_nodes) >= 3 and len(rabbit_nodes) % 2 == 1,
                 "an odd number (at least 3) of RabbitMQ nodes", str(rabbit_nodes))
    postgres = [n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:")]
    report.check(len(postgres) == 1, "one PostgreSQL service", str(postgres))
    one_shot = set(by_command.get("migrate", []))

    for name, service in services.items():
        image = str(service.get("image", ""))
        report.check(":" in image and not image.endswith(":latest"), f"{name}: the image has a pinned tag", image)
        for target, condition in depends_on(service).items():
            if not report.check(target in services, f"{name} depends on an existing service {target}"):
                continue
            if condition == "service_healthy":
                report.check(bool((services[target].get("healthcheck") or {}).get("test"))
                             and not services[target]["healthcheck"].get("disable"),
                             f"{name} waits for {target} to be healthy, and {target} has a health check")
            if condition == "service_completed_successfully":
                report.check(target in one_shot, f"{name} waits for the one-shot {target} to complete")
        if name in one_shot:
            report.check(service.get("restart") == "no", f"{name} is one-shot (restart: \"no\")")
            report.check(depends_on(service).get(postgres[0] if postgres else "") == "service_healthy",
                         f"{name} waits for PostgreSQL to be healthy")
            continue
        healthcheck = service.get("healthcheck") or {}
        report.check(bool(healthcheck.get("test")) and not healthcheck.get("disable"),
                     f"{name} has a health check")
        for source in service.get("volumes") or []:
            host = source.split(":")[0] if isinstance(source, str) else source.get("source", "")
            if host.startswith("./"):
                report.check((ROOT / host).exists(), f"{name}: bind-mounted {host} exists")
            elif isinstance(source, str) and ":" in source:
                report.check(host in (compose.get("volumes") or {}), f"{name}: volume {host} is declared")

    for name, service in cairn.items():
        command = service.get("command") or [""]
        role = command[0]
        environment = environment_of(service)
        unknown = set(environment) - set(code.settings)
        report.check(not unknown, f"{name}: every variable is one the code reads", f"unknown {sorted(unknown)}")
        amqp = urlsplit(environment.get("CAIRN_AMQP_URL", ""))
        aliases = {alias for node in rabbit_nodes
                   for alias in ((services[node].get("networks") or {}).get("default") or {}).get("aliases", [])}
        report.check(amqp.scheme == "amqp" and (amqp.hostname in rabbit_nodes or
                                                 all(amqp.hostname in ((services[n].get("networks") or {})
                                                     .get("default") or {}).get("aliases", []) for n in rabbit_nodes)),
                     f"{name}: CAIRN_AMQP_URL names a RabbitMQ node or an alias every node carries",
                     f"host {amqp.hostname!r}, aliases {sorted(aliases)}")
        database = urlsplit(environment.get("CAIRN_DATABASE_URL", ""))
        report.check(database.hostname in postgres, f"{name}: CAIRN_DATABASE_URL names the PostgreSQL service",
                     str(database.hostname))
        if role == "migrate":
            continue
        dependencies = depends_on(service)
        for needed, condition in [(n, "service_completed_successfully") for n in one_shot] + \
                                 [(n, "service_healthy") for n in rabbit_nodes]:
            report.check(dependencies.get(needed) == condition, f"{name} waits for {needed} ({condition})",
                         f"has {dependencies.get(needed)}")
        report.check(environment.get("CAIRN_HTTP_HOST") == "0.0.0.0", f"{name} listens on every interface")
        port = role_port(code, role, environment)
        report.check(bool(port), f"{name}: the role's port is set", f"set {ROLE_PORT_VARIABLE.get(role)}")
        test = (service.get("healthcheck") or {}).get("test") or []
        if report.check(test[:2] == ["CMD", "cairn-healthcheck"] and len(test) >= 3,
                        f"{name}: the health check runs cairn-healthcheck PORT PATH", str(test)):
            report.check(test[2] == port, f"{name}: the health check probes the role's port {port}", test[2])
            check_route(report, code, role, test[3] if len(test) > 3 else "/healthz", f"{name} health check")
        for mapping in service.get("ports") or []:
            container = str(mapping).split(":")[-1].split("/")[0]
            report.check(container == port, f"{name}: the published port maps to the role's port {port}", str(mapping))
        if role in ("worker", "escalator"):
            replicas = (service.get("deploy") or {}).get("replicas", 1)
            report.check(replicas >= 2, f"{name} runs several replicas (deploy.replicas)", str(replicas))

    check_rabbitmq_nodes(report, code, services, rabbit_nodes)
    return compose


def erlang_atom_list(text: str) -> set[str] | None:
    """The atoms of an enabled_plugins file (`[a,b,c].`, Erlang comments allowed); None if it is not one list."""
    text = re.sub(r"%[^\n]*", "", text)
    match = re.fullmatch(r"\s*\[([a-z0-9_,\s]*)\]\s*\.\s*", text)
    if not match:
        return None
    return {atom.strip() for atom in match.group(1).split(",") if atom.strip()}


def check_rabbitmq_nodes(report: Report, code: Code, services: dict, nodes: list[str]) -> None:
    cookies = {environment_of(services[n]).get("RABBITMQ_ERLANG_COOKIE") for n in nodes}
    report.check(len(cookies) == 1 and None not in cookies and "" not in cookies,
                 "every RabbitMQ node shares one Erlang cookie")
    report.check(len({services[n].get("image") for n in nodes}) == 1, "every RabbitMQ node runs the same image")
    hostnames = {services[n].get("hostname") for n in nodes}
    report.check(hostnames == set(nodes), "every RabbitMQ node has a stable hostname equal to its service name",
                 str(hostnames))
    for node in nodes:
        mounts = [v for v in services[node].get("volumes") or [] if isinstance(v, str)]
        config = [m.split(":")[0] for m in mounts if "/etc/rabbitmq/conf.d/" in m]
        if not report.check(len(config) == 1, f"{node} mounts the cluster configuration into conf.d"):
            continue
        text = (ROOT / config[0]).read_text(encoding="utf-8")
        listed = set(re.findall(r"^cluster_formation\.classic_config\.nodes\.\d+\s*=\s*(\S+)", text, re.M))
        report.check(listed == {f"rabbit@{n}" for n in nodes}, f"{config[0]} lists exactly the compose nodes",
                     str(sorted(listed)))
        report.check(re.search(r"^quorum_queue\.continuous_membership_reconciliation\.target_group_size\s*=\s*3",
                               text, re.M) is not None, f"{config[0]} keeps quorum queues on 3 nodes")
    for node in nodes:
        mounts = [v for v in services[node].get("volumes") or [] if isinstance(v, str)]
        plugin_files = [m.split(":")[0] for m in mounts if m.split(":")[1:2] == ["/etc/rabbitmq/enabled_plugins"]]
        if not code.broker_plugins and not plugin_files:
            continue  # the image's own plugins are enough
        if not report.check(len(plugin_files) == 1, f"{node} mounts an enabled_plugins file at /etc/rabbitmq/enabled_plugins",
                            f"the topology needs {sorted(code.broker_plugins)}"):
            continue
        enabled = erlang_atom_list((ROOT / plugin_files[0]).read_text(encoding="utf-8"))
        if not report.check(enabled is not None, f"{plugin_files[0]} is one Erlang list of plugin names ending in '.'"):
            continue
        image = str(services[node].get("image", ""))
        needed = code.broker_plugins | (MANAGEMENT_IMAGE_PLUGINS if "management" in image else IMAGE_PLUGINS)
        report.check(needed <= enabled, f"{node} enables {sorted(needed)} (the topology's and the image's plugins)",
                     f"missing {sorted(needed - enabled)}")


# ----------------------------------------------------------------------------------------------------------
# Prometheus and Grafana
# ----------------------------------------------------------------------------------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+|\$\{[^}]*\}", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names


def queue_matchers(expr: str, metric: str) -> list[tuple[str, str]]:
    """The `queue` label matchers (operator, value) on every selector of `metric` in a PromQL expression."""
    found = []
    for selector in re.finditer(rf"(?<![\w:]){re.escape(metric)}\s*\{{((?:[^{{}}\"]|\"(?:[^\"\\]|\\.)*\")*)\}}", expr):
        for matcher in re.finditer(r'\bqueue\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', selector.group(1)):
            found.append((matcher.group(1), re.sub(r"\\(.)", r"\1", matcher.group(2))))  # PromQL string escapes
    return found


def promql_selects(matchers: list[tuple[str, str]], queue: str) -> bool:
    """Whether one selector with these `queue` matchers selects the queue (PromQL regexes are anchored)."""
    if not matchers:
        return False
    for op, value in matchers:
        try:
            matched = re.fullmatch(value, queue) is not None if op in ("=~", "!~") else value == queue
        except re.error:
            return False
        if matched != (op in ("=", "=~")):
            return False
    return True


def work_queue_coverage(code: Code, expr: str, metric: str) -> tuple[set[str], set[str]]:
    """(work queues, other CairnTopology names) that an expression's selectors of `metric` select."""
    others = set(code.queues.values()) - set(code.event_queues)
    matchers = queue_matchers(expr, metric)
    selected = {q for q in code.event_queues if promql_selects(matchers, q)}
    strays = {q for q in others if promql_selects(matchers, q)}
    return selected, strays


def check_metric_names(report: Report, code: Code, expr: str, where: str) -> None:
    names = promql_metric_names(expr)
    report.check(bool(names), f"{where}: the query names a metric", expr)
    known = code.metrics | RABBITMQ_METRICS | PROMETHEUS_METRICS
    for name in sorted(names):
        report.check(name in known, f"{where}: {name} is a metric the code or RabbitMQ publishes", expr)


def check_prometheus(report: Report, code: Code, compose: dict) -> None:
    report.section = "prometheus"
    services = compose.get("services") or {}
    config = yaml.safe_load(read("deploy/prometheus/prometheus.yml"))
    prometheus = services.get("prometheus") or {}
    mounts = {m.split(":")[1]: m.split(":")[0] for m in prometheus.get("volumes") or [] if m.startswith("./")}
    report.check(mounts.get("/etc/prometheus/prometheus.yml") == "./deploy/prometheus/prometheus.yml",
                 "compose mounts deploy/prometheus/prometheus.yml")
    for rule_file in config.get("rule_files") or []:
        report.check(rule_file in mounts, f"the rule file {rule_file} is mounted")
    roles_by_service = {name: (s.get("command") or [""])[0] for name, s in services.items()
                        if (s.get("build") or {}).get("dockerfile") == "deploy/Dockerfile"}
    scraped_roles: set[str] = set()
    for job in config.get("scrape_configs") or []:
        targets: list[tuple[str, str]] = []
        for sd in job.get("dns_sd_configs") or []:
            targets += [(name, str(sd.get("port"))) for name in sd.get("names") or []]
        for static in job.get("static_configs") or []:
            targets += [tuple(t.rsplit(":", 1)) for t in static.get("targets") or []]
        for host, port in targets:
            where = f"job {job['job_name']} target {host}:{port}"
            if not report.check(host in services, f"{where} is a compose service"):
                continue
            role = roles_by_service.get(host)
            if role:
                scraped_roles.add(role)
                report.check(port == role_port(code, role, environment_of(services[host])),
                             f"{where} is the port {role} serves /metrics on")
                report.check("/metrics" in code.routes[ROLE_LISTENER[role]] and
                             job.get("metrics_path", "/metrics") == "/metrics", f"{where}: /metrics is served")
            elif str(services[host].get("image", "")).startswith("rabbitmq:"):
                report.check(port == "15692", f"{where} is RabbitMQ's Prometheus port")
    report.check(set(code.roles) <= scraped_roles, "every role is scraped", str(sorted(scraped_roles)))
    queue_jobs = [j for j in config.get("scrape_configs") or [] if j.get("metrics_path") == "/metrics/detailed"]
    report.check(bool(queue_jobs) and {"queue_coarse_metrics", "queue_consumer_count"} <=
                 set((queue_jobs[0].get("params") or {}).get("family", [])),
                 "per-queue depth and consumers are scraped from /metrics/detailed")

    rules = yaml.safe_load(read("deploy/prometheus/alerts.yml"))
    count = 0
    for group in rules.get("groups") or []:
        for rule in group.get("rules") or []:
            count += 1
            where = f"alert {rule.get('alert')}"
            report.check(bool(rule.get("alert")) and bool(rule.get("expr")), f"{where} has a name and an expression")
            check_metric_names(report, code, str(rule.get("expr", "")), where)
    report.check(count > 0, "alerts.yml has rules")
    alert_text = read("deploy/prometheus/alerts.yml")
    for key in ("deadEvents", "signalsEscalator"):
        report.check(f'"{code.queues.get(key)}"' in alert_text, f"an alert watches {code.queues.get(key)}")
    # The work queues are many (one per partition): the backlog and no-consumer alerts must select all of them
    # (a regex matcher such as queue=~"cairn\\.events\\.work\\.[0-9]+") and nothing else.
    rules_list = [r for g in rules.get("groups") or [] for r in g.get("rules") or []]
    span = f"{code.event_queues[0]} to {code.event_queues[-1]}" if code.event_queues else "(none found)"
    for metric, what in (("rabbitmq_detailed_queue_messages_ready", "backlog"),
                         ("rabbitmq_detailed_queue_consumers", "no-consumer")):
        covering = []
        for rule in rules_list:
            selected, strays = work_queue_coverage(code, str(rule.get("expr", "")), metric)
            if selected == set(code.event_queues) and code.event_queues and not strays:
                covering.append(rule)
        report.check(bool(covering), f"a {what} alert on {metric} selects every work queue ({span}) and no other queue")
        if metric == "rabbitmq_detailed_queue_consumers":
            # One idle partition stalls its accounts: a sum over the queues would hide it.
            for rule in covering:
                expr = str(rule.get("expr", ""))
                report.check(re.search(r"\bby\s*\(\s*queue\s*\)", expr) is not None or re.match(r"\s*min\s*\(", expr) is not None,
                             f"alert {rule.get('alert')} fires when any one work queue has no consumer "
                             "(keeps the queue label, or takes min)", expr)


def check_grafana(report: Report, code: Code, compose: dict) -> None:
    report.section = "grafana"
    services = compose.get("services") or {}
    grafana = services.get("grafana") or {}
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana.get("volumes") or [] if m.startswith("./")}
    report.check(mounts.get("/etc/grafana/provisioning") == "./deploy/grafana/provisioning",
                 "compose mounts the Grafana provisioning")
    sources = yaml.safe_load(read("deploy/grafana/provisioning/datasources/prometheus.yml"))["datasources"]
    uids = {s.get("uid") for s in sources if s.get("type") == "prometheus"}
    report.check(len(uids) == 1, "one provisioned Prometheus data source with a uid")
    url = urlsplit(sources[0].get("url", ""))
    report.check(url.hostname in services and str(url.port) == "9090", "the data source points at the prometheus service",
                 sources[0].get("url", ""))
    providers = yaml.safe_load(read("deploy/grafana/provisioning/dashboards/cairn.yml"))["providers"]
    dashboards_path = providers[0]["options"]["path"]
    report.check(mounts.get(dashboards_path) == "./deploy/grafana/dashboards",
                 f"the dashboard provider's path {dashboards_path} is where compose mounts deploy/grafana/dashboards")
    dashboard_files = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
    report.check(bool(dashboard_files), "there is a dashboard")
    for path in dashboard_files:
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            report.fail(f"{path.name} is valid JSON", str(error))
            continue
        report.check(bool(dashboard.get("uid")) and bool(dashboard.get("title")), f"{path.name} has a uid and title")
        panels = [p for p in dashboard.get("panels") or [] if p.get("type") != "row"]
        report.check(len(panels) >= 6, f"{path.name} has panels", str(len(panels)))
        expressions = []
        for panel in panels:
            where = f"{path.name} panel {panel.get('title')!r}"
            report.check((panel.get("datasource") or {}).get("uid") in uids, f"{where} uses the provisioned data source")
            for target in panel.get("targets") or []:
                report.check((target.get("datasource") or {}).get("uid", next(iter(uids), None)) in uids,
                             f"{where}: the query uses the provisioned data source")
                expressions.append(target.get("expr", ""))
                check_metric_names(report, code, target.get("expr", ""), where)
        text = " ".join(expressions)
        span = f"{code.event_queues[0]} to {code.event_queues[-1]}" if code.event_queues else "(none found)"
        for metric in ("rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_consumers"):
            report.check(any(work_queue_coverage(code, e, metric)[0] == set(code.event_queues) and code.event_queues
                             for e in expressions),
                         f"{path.name} shows {metric} for every work queue ({span})")
        for needed, what in [("cairn_worker_events_applied_total", "throughput"),
                             ("rabbitmq_detailed_queue_messages_ready", "lag (queue depth)"),
                             ("cairn_consumer_batch_seconds_bucket", "commit latency"),
                             (code.queues.get("deadEvents", "?"), "dead-letter depth"),
                             ("cairn\\\\.tasks", "tasks per queue")]:
            report.check(needed in text, f"{path.name} shows {what}")


# ----------------------------------------------------------------------------------------------------------
# Kubernetes
# ----------------------------------------------------------------------------------------------------------

def check_kubernetes(report: Report, code: Code, k8s_version: str) -> None:
    report.section = "k8s"
    kustomization = yaml.safe_load(read("deploy/k8s/kustomization.yaml"))
    listed = kustomization.get("resources") or []
    present = sorted(p.name for p in (ROOT / "deploy/k8s").glob("*.yaml") if p.name != "kustomization.yaml")
    report.check(sorted(listed) == present, "kustomization.yaml lists every manifest in deploy/k8s and no other",
                 f"listed {sorted(listed)}, present {present}")
    image_names = {i.get("name") for i in kustomization.get("images") or []}

    documents: list[tuple[str, dict]] = []
    for name in listed:
        if not report.check((ROOT / "deploy/k8s" / name).is_file(), f"{name} exists"):
            continue
        try:
            documents += [(name, doc) for doc in load_yaml_documents(f"deploy/k8s/{name}")]
        except yaml.YAMLError as error:
            report.fail(f"{name} is valid YAML", str(error).splitlines()[0])
    by_kind: dict[str, dict[str, dict]] = {}
    for name, doc in documents:
        kind, meta = doc.get("kind", "?"), doc.get("metadata") or {}
        where = f"{name} {kind}/{meta.get('name')}"
        if kind in ("ScaledObject", "TriggerAuthentication", "RabbitmqCluster"):
            pass  # custom resources: checked below
        else:
            try:
                k8s_schemas.validate(doc, k8s_version, strict=True)
                report.check(True, f"{where} matches the Kubernetes {k8s_version} schema")
            except k8s_schemas.ValidationError as error:
                report.fail(f"{where} matches the Kubernetes {k8s_version} schema",
                            f"{'.'.join(map(str, error.path))}: {error.message[:200]}")
            except k8s_schemas.SchemaNotFoundError as error:
                report.fail(f"{where} has a known Kubernetes schema", error.message)
        report.check(meta.get("name") not in by_kind.get(kind, {}), f"{where} is defined once")
        by_kind.setdefault(kind, {})[meta.get("name")] = doc

    config_maps = {n: set((d.get("data") or {})) for n, d in by_kind.get("ConfigMap", {}).items()}
    config_values = {n: d.get("data") or {} for n, d in by_kind.get("ConfigMap", {}).items()}
    secrets = {n: {**(d.get("stringData") or {}), **(d.get("data") or {})} for n, d in by_kind.get("Secret", {}).items()}
    deployments = by_kind.get("Deployment", {})
    roles_seen: dict[str, str] = {}

    def pod_checks(where: str, pod: dict, image_names: set) -> None:
        security = pod.get("securityContext") or {}
        report.check(security.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
        for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
            cwhere = f"{where} container {container.get('name')}"
            image = container.get("image", "")
            report.check(image in image_names or (":" in image and not image.endswith(":latest")),
                         f"{cwhere}: the image is set by kustomization.yaml or pinned", image)
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                report.check({"cpu", "memory"} <= set(resources.get(part) or {}), f"{cwhere}: {part} for cpu and memory")
            for env in container.get("env") or []:
                report.check(env.get("name") in code.settings, f"{cwhere}: {env.get('name')} is a variable the code reads")
                ref = env.get("valueFrom") or {}
                if "secretKeyRef" in ref:
                    s = ref["secretKeyRef"]
                    report.check(s.get("key") in secrets.get(s.get("name"), {}),
                                 f"{cwhere}: secret {s.get('name')}/{s.get('key')} exists")
                if "configMapKeyRef" in ref:
                    c = ref["configMapKeyRef"]
                    report.check(c.get("key") in config_maps.get(c.get("name"), set()),
                                 f"{cwhere}: config map {c.get('name')}/{c.get('key')} exists")
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    report.check(source["configMapRef"].get("name") in config_maps, f"{cwhere}: envFrom config map exists")
                if "secretRef" in source:
                    report.check(source["secretRef"].get("name") in secrets, f"{cwhere}: envFrom secret exists")
        for volume in pod.get("volumes") or []:
            if "configMap" in volume:
                report.check(volume["configMap"].get("name") in config_maps, f"{where}: volume {volume['name']}'s config map exists")
            if "secret" in volume:
                report.check(volume["secret"].get("secretName") in secrets, f"{where}: volume {volume['name']}'s secret exists")

    def env_value(container: dict, variable: str) -> str:
        for env in container.get("env") or []:
            if env.get("name") == variable:
                if "value" in env:
                    return str(env["value"])
                ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    return str(config_values.get(ref.get("name"), {}).get(ref.get("key"), ""))
        for source in container.get("envFrom") or []:
            name = (source.get("configMapRef") or {}).get("name")
            if name and variable in config_values.get(name, {}):
                return str(config_values[name][variable])
        return code.settings.get(variable, "")

    for name, deployment in deployments.items():
        where = f"Deployment {name}"
        spec = deployment.get("spec") or {}
        template = spec.get("template") or {}
        pod = template.get("spec") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        report.check((spec.get("selector") or {}).get("matchLabels", {}).items() <= labels.items(),
                     f"{where}: the selector matches the pod labels")
        pod_checks(where, pod, image_names)
        for init in pod.get("initContainers") or []:
            report.check((init.get("args") or [""])[0] == "migrate", f"{where}: init container {init.get('name')} runs migrate")
        containers = pod.get("containers") or []
        if not report.check(len(containers) == 1, f"{where}: one container"):
            continue
        container = containers[0]
        role = (container.get("args") or [""])[0]
        if not report.check(role in code.roles, f"{where} runs a role", str(container.get("args"))):
            continue
        roles_seen[role] = name
        port = env_value(container, ROLE_PORT_VARIABLE[role])
        ports = {str(p.get("name")): str(p.get("containerPort")) for p in container.get("ports") or []}
        report.check(port in ports.values(), f"{where}: containerPort is the role's port {port}",
                     f"{ROLE_PORT_VARIABLE[role]}={port!r}, ports {ports}")
        report.check(env_value(container, "CAIRN_HTTP_HOST") == "0.0.0.0", f"{where} listens on every interface")
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if annotations.get("prometheus.io/scrape") == "true":
            report.check(annotations.get("prometheus.io/port") == port, f"{where}: the scrape annotation uses port {port}")
        for probe_name, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            probe = (container.get(probe_name) or {}).get("httpGet")
            if not report.check(bool(probe), f"{where}: {probe_name} is an HTTP probe"):
                continue
            report.check(probe.get("path") == path, f"{where}: {probe_name} probes {path}", str(probe.get("path")))
            probe_port = str(probe.get("port"))
            report.check(ports.get(probe_port, probe_port) == port, f"{where}: {probe_name} probes the role's port {port}",
                         probe_port)
            check_route(report, code, role, str(probe.get("path")), f"{where} {probe_name}")
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values()
                if ((p.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items() <= labels.items()]
        report.check(len(pdbs) == 1, f"{where} has a PodDisruptionBudget", str(len(pdbs)))

    for role in code.roles:
        report.check(role in roles_seen, f"a Deployment runs the {role} role")
    for role in ("ingest", "api"):
        matching = [s for s in by_kind.get("Service", {}).values()
                    if role in roles_seen and ((s.get("spec") or {}).get("selector") or {}).items()
                    <= ((deployments[roles_seen[role]]["spec"]["template"]["metadata"].get("labels")) or {}).items()]
        if report.check(len(matching) == 1, f"a Service selects the {role} pods"):
            container = deployments[roles_seen[role]]["spec"]["template"]["spec"]["containers"][0]
            ports = {str(p.get("name")): str(p.get("containerPort")) for p in container.get("ports") or []}
            for service_port in matching[0]["spec"].get("ports") or []:
                target = str(service_port.get("targetPort"))
                report.check(target in ports or target in ports.values(), f"the {role} Service's targetPort {target} exists")

    jobs = by_kind.get("Job", {})
    migrate_jobs = [j for j in jobs.values() if (j["spec"]["template"]["spec"]["containers"][0].get("args") or [""])[0] == "migrate"]
    report.check(len(migrate_jobs) == 1, "a Job runs `cairn migrate`")
    for job in migrate_jobs:
        pod = job["spec"]["template"]["spec"]
        pod_checks(f"Job {job['metadata']['name']}", pod, image_names)
        report.check(pod.get("restartPolicy") in ("OnFailure", "Never"), "the migrate Job does not restart forever")

    check_keda(report, code, by_kind, deployments, roles_seen, secrets)
    check_rabbitmq_cluster(report, code, by_kind, secrets)


def check_keda(report, code, by_kind, deployments, roles_seen, secrets) -> None:
    scaled = by_kind.get("ScaledObject", {})
    report.check(len(scaled) == 1, "one KEDA ScaledObject")
    for name, obj in scaled.items():
        where = f"ScaledObject {name}"
        report.check(obj.get("apiVersion") == "keda.sh/v1alpha1", f"{where}: apiVersion keda.sh/v1alpha1")
        spec = obj.get("spec") or {}
        report.check(set(spec) <= KEDA_SCALEDOBJECT_SPEC_FIELDS, f"{where}: only known spec fields",
                     str(sorted(set(spec) - KEDA_SCALEDOBJECT_SPEC_FIELDS)))
        target = (spec.get("scaleTargetRef") or {}).get("name")
        report.check(target == roles_seen.get("worker"), f"{where} scales the worker Deployment", str(target))
        if target in deployments:
            report.check("replicas" not in deployments[target]["spec"],
                         f"{where}: the worker Deployment leaves replicas to KEDA (re-applying would reset them)")
        low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
        report.check(isinstance(low, int) and isinstance(high, int) and 1 <= low <= high,
                     f"{where}: 1 <= minReplicaCount <= maxReplicaCount", f"{low}, {high}")
        # A partition is consumed by one worker at a time: workers beyond the number of partitions stand idle.
        report.check(isinstance(high, int) and high <= len(code.event_queues),
                     f"{where}: maxReplicaCount is at most the number of work queues ({len(code.event_queues)})", str(high))
        triggers = spec.get("triggers") or []
        report.check(len(triggers) >= 1, f"{where} has a trigger")
        others = set(code.queues.values()) - set(code.event_queues)
        covered: set[str] = set()
        for trigger in triggers:
            metadata = trigger.get("metadata") or {}
            report.check(trigger.get("type") == "rabbitmq", f"{where}: a rabbitmq trigger", str(trigger.get("type")))
            report.check(set(metadata) <= KEDA_RABBITMQ_METADATA, f"{where}: only known rabbitmq trigger fields",
                         str(sorted(set(metadata) - KEDA_RABBITMQ_METADATA)))
            report.check(all(isinstance(v, str) for v in metadata.values()),
                         f"{where}: every trigger metadata value is a string (quote true, numbers)",
                         str({k: v for k, v in metadata.items() if not isinstance(v, str)}))
            name = str(metadata.get("queueName", ""))
            if metadata.get("useRegex") == "true":
                # KEDA asks the management API (GET /api/queues/<vhost>?use_regex=true&name=…), which matches the
                # name with an unanchored, case-insensitive regex, and combines the matches with `operation`.
                report.check(metadata.get("protocol") == "http", f"{where}: useRegex needs protocol http",
                             str(metadata.get("protocol")))
                report.check(metadata.get("operation", "sum") == "sum", f"{where}: the matching queues are summed",
                             str(metadata.get("operation")))
                try:
                    selected = {q for q in code.event_queues + sorted(others) if re.search(name, q, re.I)}
                except re.error as error:
                    report.fail(f"{where}: queueName is a valid regex", str(error))
                    selected = set()
            else:
                selected = {name}
            report.check(bool(selected) and selected <= set(code.event_queues),
                         f"{where}: the trigger's queueName selects work queues only", f"{name!r} selects {sorted(selected)}")
            covered |= selected
            report.check(metadata.get("mode") in ("QueueLength", "MessageRate"), f"{where}: mode QueueLength or MessageRate")
            report.check(isinstance(metadata.get("value"), str) and re.fullmatch(r"\d+(\.\d+)?", metadata["value"]) is not None
                         and float(metadata["value"]) > 0, f"{where}: value is a positive number in a string")
            report.check(metadata.get("protocol") in ("amqp", "http", "auto"), f"{where}: protocol amqp, http or auto")
            auth = (trigger.get("authenticationRef") or {}).get("name")
            has_host = "host" in metadata or "hostFromEnv" in metadata
            if not report.check(auth in by_kind.get("TriggerAuthentication", {}) or has_host,
                                f"{where}: the broker address comes from a TriggerAuthentication", str(auth)):
                continue
            if auth:
                check_trigger_auth(report, by_kind["TriggerAuthentication"][auth], secrets, metadata.get("protocol"),
                                   set(by_kind.get("RabbitmqCluster", {})))
        report.check(bool(code.event_queues) and covered == set(code.event_queues),
                     f"{where} scales on every work queue the workers consume ({len(code.event_queues)})",
                     f"missing {sorted(set(code.event_queues) - covered)}")


def check_trigger_auth(report, auth: dict, secrets: dict, protocol: str, clusters: set[str]) -> None:
    where = f"TriggerAuthentication {auth['metadata']['name']}"
    report.check(auth.get("apiVersion") == "keda.sh/v1alpha1", f"{where}: apiVersion keda.sh/v1alpha1")
    refs = (auth.get("spec") or {}).get("secretTargetRef") or []
    report.check(any(r.get("parameter") == "host" for r in refs), f"{where} provides the host parameter")
    for ref in refs:
        report.check(ref.get("parameter") in KEDA_RABBITMQ_AUTH_PARAMETERS, f"{where}: parameter {ref.get('parameter')} is known")
        value = secrets.get(ref.get("name"), {}).get(ref.get("key"))
        if report.check(value is not None, f"{where}: secret {ref.get('name')}/{ref.get('key')} exists"):
            if ref.get("parameter") == "host" and protocol == "amqp":
                report.check(str(value).startswith(("amqp://", "amqps://")), f"{where}: the host is an AMQP URL")
            if ref.get("parameter") == "host" and protocol == "http":
                url = urlsplit(str(value))
                report.check(url.scheme in ("http", "https") and url.port in (15672, 15671),
                             f"{where}: the host is the management API's URL (http://…:15672/<vhost>)",
                             f"{url.scheme}://{url.hostname}:{url.port}")
                host = url.hostname or ""
                report.check(any(host == c or host.startswith(f"{c}.") for c in clusters),
                             f"{where}: the management URL points at the RabbitmqCluster's Service", host)


def check_rabbitmq_cluster(report, code, by_kind, secrets) -> None:
    clusters = by_kind.get("RabbitmqCluster", {})
    report.check(len(clusters) == 1, "one RabbitmqCluster")
    for name, cluster in clusters.items():
        where = f"RabbitmqCluster {name}"
        report.check(cluster.get("apiVersion") == "rabbitmq.com/v1beta1", f"{where}: apiVersion rabbitmq.com/v1beta1")
        spec = cluster.get("spec") or {}
        report.check(set(spec) <= RABBITMQ_CLUSTER_SPEC_FIELDS, f"{where}: only known spec fields",
                     str(sorted(set(spec) - RABBITMQ_CLUSTER_SPEC_FIELDS)))
        replicas = spec.get("replicas")
        report.check(isinstance(replicas, int) and replicas >= 3 and replicas % 2 == 1, f"{where}: an odd number >= 3 of replicas",
                     str(replicas))
        image = str(spec.get("image", ""))
        report.check(image.startswith("rabbitmq:") and not image.endswith(":latest"), f"{where}: a pinned rabbitmq image", image)
        rabbitmq = spec.get("rabbitmq") or {}
        report.check(set(rabbitmq) <= RABBITMQ_CLUSTER_RABBITMQ_FIELDS, f"{where}: only known spec.rabbitmq fields",
                     str(sorted(set(rabbitmq) - RABBITMQ_CLUSTER_RABBITMQ_FIELDS)))
        plugins = rabbitmq.get("additionalPlugins") or []
        report.check(code.broker_plugins <= set(plugins),
                     f"{where} enables the plugins the topology needs (spec.rabbitmq.additionalPlugins)",
                     f"missing {sorted(code.broker_plugins - set(plugins))}")
        config = rabbitmq.get("additionalConfig") or ""
        report.check("quorum_queue.continuous_membership_reconciliation.target_group_size = 3" in config,
                     f"{where} keeps quorum queues on 3 nodes")
        for secret_name, values in secrets.items():
            url = values.get("CAIRN_AMQP_URL")
            if url:
                host = urlsplit(url).hostname or ""
                report.check(host == name or host.startswith(f"{name}."),
                             f"secret {secret_name}: CAIRN_AMQP_URL points at the {name} Service", host)


# ----------------------------------------------------------------------------------------------------------
# deploy/rabbitmq/definitions.json
# ----------------------------------------------------------------------------------------------------------

def check_definitions(report: Report, code: Code) -> None:
    report.section = "definitions"
    definitions = json.loads(read("deploy/rabbitmq/definitions.json"))
    topology = read("Sources/CairnAMQP/AMQPTopology+Cairn.swift")
    exchanges = {e.get("name"): e.get("type") for e in definitions.get("exchanges") or []}
    queues = {q.get("name"): q.get("arguments") or {} for q in definitions.get("queues") or []}
    bindings = {(b.get("source"), b.get("destination"), b.get("destination_type")) for b in definitions.get("bindings") or []}
    hash_exchange = code.queues.get("eventsByAccount", "")
    if report.check(bool(hash_exchange) and ".consistentHash" in topology,
                    "CairnTopology names the consistent-hash exchange (eventsByAccount)"):
        report.check(exchanges.get(hash_exchange) == "x-consistent-hash", f"{hash_exchange} is an x-consistent-hash exchange",
                     str(exchanges.get(hash_exchange)))
        report.check((code.queues.get("events"), hash_exchange, "exchange") in bindings,
                     f"{code.queues.get('events')} is bound to {hash_exchange}")
    for queue in code.event_queues:
        arguments = queues.get(queue)
        if not report.check(arguments is not None, f"{queue} is declared"):
            continue
        report.check(arguments.get("x-queue-type") == "quorum" and arguments.get("x-single-active-consumer") is True,
                     f"{queue} is a quorum queue with a single active consumer", str(arguments))
        report.check((hash_exchange, queue, "queue") in bindings, f"{queue} is bound to {hash_exchange}")
    legacy = code.queues.get("legacyEventsWork")
    report.check(legacy not in queues, f"the old shared queue {legacy} is not declared any more")
    extra = {q for q in queues if q.startswith(f"{code.queues.get('events')}.work")} - set(code.event_queues) - {legacy}
    report.check(not extra, "no work queue beyond eventPartitions is declared", str(sorted(extra)))


# ----------------------------------------------------------------------------------------------------------
# deploy/cairn-healthcheck, for real
# ----------------------------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        status = 200 if self.path == "/healthz" else 503
        body = b'{"status":"ok"}' if status == 200 else b'{"error":{"code":"unavailable","message":"x"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _QuietServer(http.server.HTTPServer):
    def handle_error(self, request, client_address):
        pass  # the script reads the status line and hangs up: a reset while writing the body is expected


def check_healthcheck_script(report: Report) -> None:
    report.section = "cairn-healthcheck"
    script = str(ROOT / "deploy/cairn-healthcheck")
    syntax = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
    report.check(syntax.returncode == 0, "bash accepts the script", syntax.stderr.strip())
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        def run(*args: str) -> int:
            return subprocess.run(["bash", script, *args], capture_output=True, timeout=20).returncode
        report.check(run(str(port), "/healthz") == 0, "a 200 answer passes")
        report.check(run(str(port), "/readyz") == 1, "a 503 answer fails")
    finally:
        server.shutdown()
        server.server_close()
    report.check(run(str(port), "/healthz") != 0, "a closed port fails")


# ----------------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every check, not only failures")
    parser.add_argument("--k8s-version", default=DEFAULT_K8S_VERSION, help="Kubernetes schema version")
    args = parser.parse_args()
    report = Report(verbose=args.verbose)
    print("validate_deploy: checking deploy/, docker-compose.yml and deploy/k8s against each other and Sources/")
    try:
        code = read_code(report)
    except Exception as error:  # the code's shape changed: say so, never pass silently
        report.fail("reading the facts from Sources/", f"{type(error).__name__}: {error}")
        code = None
    if code is not None:
        compose: dict = {}
        sections = [
            ("Dockerfile", lambda: check_dockerfile(report, code)),
            ("compose", lambda: compose.update(check_compose(report, code))),
            ("prometheus", lambda: check_prometheus(report, code, compose)),
            ("grafana", lambda: check_grafana(report, code, compose)),
            ("definitions", lambda: check_definitions(report, code)),
            ("k8s", lambda: check_kubernetes(report, code, args.k8s_version)),
            ("cairn-healthcheck", lambda: check_healthcheck_script(report)),
            ("code", lambda: check_stale_pending(report, code)),
        ]
        for name, run in sections:
            try:
                run()
            except Exception as error:
                report.section = name
                report.fail("the check ran to the end", f"{type(error).__name__}: {error}")
                if args.verbose:
                    traceback.print_exc()
    total = report.passed + len(report.failures)
    if report.failures:
        print(f"validate_deploy: {len(report.failures)} of {total} checks FAILED (see FAIL lines above)")
        return 1
    pending = f"; {len(report.pending)} pending on the code (see PENDING lines)" if report.pending else ""
    print(f"validate_deploy: all {total} checks passed{pending}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
