"""API groups, versions, kinds, label keys and resource names: the one place they are spelled."""

KSERVE_GROUP = "serving.kserve.io"
KSERVE_V1ALPHA1 = f"{KSERVE_GROUP}/v1alpha1"
KSERVE_V1BETA1 = f"{KSERVE_GROUP}/v1beta1"
KIND_SERVING_RUNTIME = "ServingRuntime"
KIND_CLUSTER_SERVING_RUNTIME = "ClusterServingRuntime"
KIND_INFERENCE_SERVICE = "InferenceService"
KSERVE_V1ALPHA2 = f"{KSERVE_GROUP}/v1alpha2"
KIND_LLM_INFERENCE_SERVICE = "LLMInferenceService"
KIND_LLM_INFERENCE_SERVICE_CONFIG = "LLMInferenceServiceConfig"
# Which KServe API serves the models: v1beta1 InferenceService (+ ServingRuntime) or v1alpha2 LLMInferenceService.
API_ISVC = "isvc"
API_LLMISVC = "llmisvc"
APIS = (API_ISVC, API_LLMISVC)
# llmisvc routing: KServe's scheduler (llm-d EPP) + InferencePool + HTTPRoute on a Gateway, or no router at all.
ROUTER_SCHEDULER = "scheduler"
ROUTER_NONE = "none"
ROUTERS = (ROUTER_SCHEDULER, ROUTER_NONE)

MONITORING_V1 = "monitoring.coreos.com/v1"
KEDA_V1ALPHA1 = "keda.sh/v1alpha1"
GATEWAY_V1 = "gateway.networking.k8s.io/v1"

# KServe annotations
ANN_DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
ANN_AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
DEPLOYMENT_MODE_RAW = "RawDeployment"

# AMD GPU operator / device plugin
GPU_RESOURCE = "amd.com/gpu"
LABEL_GPU_PRODUCT = "amd.com/gpu.product-name"
LABEL_GPU_DEVICE_ID = "amd.com/gpu.device-id"
LABEL_GPU_FAMILY = "amd.com/gpu.family"
LABEL_GPU_VRAM = "amd.com/gpu.vram"

# Our own labels
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_VERSION = "app.kubernetes.io/version"
ANN_PROFILE = "aim-engine.amd.com/profile"
ANN_MODEL = "aim-engine.amd.com/model"
# On the worker pods of a multi-node group (from the ServingRuntime's workerSpec.labels): they serve no HTTP, so
# scraping and probes leave them out.
LABEL_ROLE = "aim-engine.amd.com/role"
ROLE_WORKER = "worker"
ANN_FALLBACKS = "aim-engine.amd.com/fallbacks"  # what selection chose on open dimensions, "; "-joined
ANN_DERIVED_FROM = "aim-engine.amd.com/derived-from"  # the cited profile a derived one comes from
PART_OF = "aim-engine"

GIB = 1024**3  # bytes in a GiB: weights, caches, VRAM and Kubernetes "Gi" quantities

SERVING_CONTAINER = "kserve-container"
SERVING_PORT = 8080
CACHE_MOUNT_PATH = "/models"
SHM_MOUNT_PATH = "/dev/shm"
# KServe's LLMInferenceService contract (kserve v0.20.0 pkg/controller/v1alpha2/llmisvc/workload.go,
# reconcileWorkloadService): the workload Service, the InferencePool's targetPorts and the router presets all
# assume the engine (or, with prefill/decode, the decode pod's routing sidecar) listens on 8000; the decode
# engine behind that sidecar listens on 8001 (config/llmisvcconfig/config-llm-decode-template.yaml).
LLMISVC_PORT = 8000
LLMISVC_DECODE_ENGINE_PORT = 8001
LLMISVC_CONTAINER = "main"  # the container every KServe preset names, merged by name
# Where KServe's storage initializer (and a pvc:// mount, a model car) puts a storageUri / model.uri
# (pkg/constants/constants.go DefaultModelLocalMountPath).
KSERVE_MODEL_PATH = "/mnt/models"
LLMISVC_MODEL_PATH = KSERVE_MODEL_PATH
LABEL_KSERVE_COMPONENT = "kserve.io/component"  # KServe sets it to "workload" on every LLMInferenceService engine pod

PRECISIONS = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4")
BACKENDS = ("vllm", "sglang", "atom")  # what recipe profiles may run on
# What the planner sizes from the architecture; ATOM serves only the shapes a recipe cites (its flags and memory
# accounting are not modelled by the planner).
PLANNED_BACKENDS = ("vllm", "sglang")
METRICS = ("latency", "throughput")
