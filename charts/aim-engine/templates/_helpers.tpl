{{/*
Helpers for aim-engine. The objects mirror generator/aimgen/render/{k8s,kserve,exposure}.py field for field:
`helm template` of `aimgen values` output equals `aimgen render` (tests/test_chart_equivalence.py).
Selection and sizing are decided in Python and shipped in files/profiles.json; the templates only look up.
*/}}

{{/* A name cut to a DNS label (63 characters). */}}
{{- define "aim-engine.trunc" -}}
{{- . | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "aim-engine.serviceAccountName" -}}
{{- include "aim-engine.trunc" (printf "%s-serving" .Release.Name) -}}
{{- end }}

{{/* KServe's LocalModelNodeGroup of the release: cluster-scoped, so named after the namespace too. */}}
{{- define "aim-engine.localModelNodeGroup" -}}
{{- include "aim-engine.trunc" (printf "%s-%s" .Release.Namespace .Release.Name) -}}
{{- end }}

{{- define "aim-engine.networkPolicyName" -}}
{{- include "aim-engine.trunc" (printf "%s-serving" .Release.Name) -}}
{{- end }}

{{- define "aim-engine.cacheClaimName" -}}
{{- .Values.cache.existingClaim | default (include "aim-engine.trunc" (printf "%s-cache" .Release.Name)) -}}
{{- end }}

{{/*
Labels of every object: identical to render/k8s.py labels() except managed-by (Helm, not aimgen).
Argument: dict "ctx" $ "component" COMPONENT ["name" APP_NAME].
*/}}
{{- define "aim-engine.labels" -}}
{{ include "aim-engine.selectorLabels" . }}
app.kubernetes.io/part-of: aim-engine
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* Selector labels: stable across upgrades, so never the chart or app version. Same argument as labels. */}}
{{- define "aim-engine.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aim-engine.trunc" (.name | default .ctx.Chart.Name) | quote }}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end }}

{{/*
The release's deployments, resolved, as JSON: {"items": [{"name": N, "profile": ENTRY, "deviceIds": [...]}],
"cacheEnv": {...}, "prefetchEnv": {...}}. ENTRY is render/values.py profile_entry(), deviceIds the GPU type's
PCI ids, cacheEnv / prefetchEnv the env of the serving / prefetch containers (aimgen.cache.plan, via the table).
Zero-config (`model` + `gpu`) takes the first profile of the table's preference order that matches the given
gpus/precision/backend/metric; `deployments` items carry an inline `profile` or name one by its exact key.
Templates call it once each: it parses the table.
*/}}
{{- define "aim-engine.deployments" -}}
{{- $table := .Files.Get "files/profiles.json" | fromJson -}}
{{- $v := .Values -}}
{{- $items := list -}}
{{- if $v.model -}}
  {{- $name := $v.name | default .Release.Name -}}
  {{- if gt (len $name) 45 -}}
    {{- fail (printf "name %q has %d characters; KServe derives longer names from it: set `name` to at most 45 characters" $name (len $name)) -}}
  {{- end -}}
  {{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
    {{- fail (printf "name %q is not a DNS label: set `name` to lower-case letters, digits and '-', starting with a letter" $name) -}}
  {{- end -}}
  {{- $items = append $items (dict "name" $name "profile" (include "aim-engine.pick" (dict "table" $table "values" $v) | fromJson)) -}}
{{- else if $v.deployments -}}
  {{- $seen := dict -}}
  {{- range $i, $d := $v.deployments -}}
    {{- if hasKey $seen $d.name -}}
      {{- fail (printf "deployments[%d]: name %q is already used by another deployment; give each a distinct name" $i $d.name) -}}
    {{- end -}}
    {{- $_ := set $seen $d.name true -}}
    {{- $p := $d.profile -}}
    {{- if not $p -}}
      {{- $key := printf "%s|%s|%d|%s|%s|%s" $d.model $d.gpu (int $d.gpus) $d.precision $d.backend $d.metric -}}
      {{- $p = index $table.profiles $key -}}
      {{- if not $p -}}
        {{- fail (printf "deployments[%d] (%s): the chart has no profile gpus=%d precision=%s backend=%s metric=%s for %s on %s; %s" $i $d.name (int $d.gpus) $d.precision $d.backend $d.metric $d.model $d.gpu (include "aim-engine.shapes" (dict "table" $table "model" $d.model "gpu" $d.gpu))) -}}
      {{- end -}}
    {{- end -}}
    {{- $items = append $items (dict "name" $d.name "profile" $p) -}}
  {{- end -}}
{{- else -}}
  {{- fail "nothing to serve: set model and gpu (e.g. --set model=Qwen/Qwen3-8B --set gpu=mi300x) or list deployments (`aimgen values MODEL --gpu GPU` writes them)" -}}
{{- end -}}
{{- $resolved := list -}}
{{- range $d := $items -}}
  {{- if and (eq ($d.profile.api | default "isvc") "llmisvc") (ne $v.api "llmisvc") -}}
    {{- fail (printf "deployment %s: its profile was compiled for an LLMInferenceService (`aimgen values --api llmisvc`): set api: llmisvc, or write the values without --api llmisvc" $d.name) -}}
  {{- end -}}
  {{- $gpu := index $table.gpus $d.profile.gpu | default dict -}}
  {{- $resolved = append $resolved (merge $d (dict "deviceIds" ($gpu.deviceIds | default list))) -}}
{{- end -}}
{{- toJson (dict "items" $resolved "cacheEnv" $table.cache.servingEnv "prefetchEnv" $table.cache.prefetchEnv) -}}
{{- end }}

{{/* Zero-config pick. Argument: dict "table" TABLE "values" .Values. Result: the profile entry as JSON. */}}
{{- define "aim-engine.pick" -}}
{{- $v := .values -}}
{{- $found := dict -}}
{{- range $key := index .table.order (printf "%s|%s" $v.model $v.gpu) | default list -}}
  {{- $p := index $.table.profiles $key -}}
  {{- if and (not $found) (or (not $v.gpus) (eq (int $v.gpus) (int $p.parallelism.worldSize))) (or (not $v.precision) (eq $v.precision $p.precision)) (or (not $v.backend) (eq $v.backend $p.backend)) (or (not $v.metric) (eq $v.metric $p.metric)) -}}
    {{- $found = $p -}}
  {{- end -}}
{{- end -}}
{{- if not $found -}}
  {{- fail (printf "no profile for %s on %s%s in the chart's table; %s" $v.model $v.gpu (include "aim-engine.wanted" $v) (include "aim-engine.shapes" (dict "table" .table "model" $v.model "gpu" $v.gpu))) -}}
{{- end -}}
{{- toJson $found -}}
{{- end }}

{{/* The shape asked for, e.g. " with gpus=8 precision=fp8", for messages. */}}
{{- define "aim-engine.wanted" -}}
{{- $parts := list -}}
{{- if .gpus }}{{ $parts = append $parts (printf "gpus=%d" (int .gpus)) }}{{ end -}}
{{- range $k := list "precision" "backend" "metric" -}}
  {{- if index $ $k }}{{ $parts = append $parts (printf "%s=%s" $k (index $ $k)) }}{{ end -}}
{{- end -}}
{{- if $parts }} with {{ join " " $parts }}{{ end -}}
{{- end }}

{{/* What the table offers for a model and GPU, as a message that says how to fix the values. */}}
{{- define "aim-engine.shapes" -}}
{{- $shapes := list -}}
{{- range $key := index .table.order (printf "%s|%s" .model .gpu) | default list -}}
  {{- $p := index $.table.profiles $key -}}
  {{- $shapes = append $shapes (printf "gpus=%d precision=%s backend=%s metric=%s" (int $p.parallelism.worldSize) $p.precision $p.backend $p.metric) -}}
{{- end -}}
{{- if $shapes -}}
available shapes: {{ join "; " $shapes }}
{{- else -}}
{{- $models := list -}}
{{- range $key := keys .table.order | sortAlpha -}}
  {{- $mg := splitList "|" $key -}}
  {{- if eq (last $mg) $.gpu }}{{ $models = append $models (first $mg) }}{{ end -}}
{{- end -}}
the table has no profile for this model on this GPU (models with {{ .gpu }} profiles: {{ join ", " $models | default "none" }}); `aimgen values {{ .model }} --gpu {{ .gpu }}` plans one: install with its output as -f values
{{- end -}}
{{- end }}

{{/* An image, pinned by digest when imageDigests names its repository. Argument: dict "ctx" $ "image" IMAGE. */}}
{{- define "aim-engine.image" -}}
{{- $image := .image -}}
{{- $repo := regexReplaceAll ":[^:/]+$" $image "" -}}
{{- $digest := index .ctx.Values.imageDigests $repo -}}
{{- if and $digest (not (contains "@" $image)) -}}
{{- printf "%s@%s" $repo $digest -}}
{{- else -}}
{{- $image -}}
{{- end -}}
{{- end }}

{{/*
The serving pods of the release (or of one model), whichever KServe API made them (render/kserve.py
engine_pods()). Argument: dict "ctx" $ ["name" NAME].
*/}}
{{- define "aim-engine.servingPods" -}}
{{- if eq .ctx.Values.api "llmisvc" -}}
{{- include "aim-engine.llmisvc.selector" . -}}
{{- else if .name -}}
{{- include "aim-engine.selectorLabels" (dict "ctx" .ctx "component" "predictor" "name" .name) -}}
{{- else -}}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/component: predictor
{{- end -}}
{{- end }}

{{/* Every pod of one model's multi-node groups, heads and workers (render/kserve.py group_pods()). Argument: dict "ctx" $ "name" NAME. */}}
{{- define "aim-engine.groupPods" -}}
{{- if eq .ctx.Values.api "llmisvc" -}}
{{- include "aim-engine.llmisvc.groupSelector" . -}}
{{- else -}}
{{- include "aim-engine.selectorLabels" (dict "ctx" .ctx "component" "predictor" "name" .name) -}}
{{- end -}}
{{- end }}

{{/* Pod security context: render/k8s.py pod_security_context(). */}}
{{- define "aim-engine.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
supplementalGroups: [44, 109, 110]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container security context: render/k8s.py container_security_context(). Argument: readOnlyRootFilesystem.
ROCm needs no capability back: the device plugin mounts /dev/kfd and /dev/dri, and their groups (video 44,
render 109/110) are supplementalGroups of the pod; SYS_PTRACE in AMD's docker examples serves profilers only.
*/}}
{{- define "aim-engine.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ . }}
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The Hugging Face token as a file from the Secret (render/kserve.py _token_volumes()): never env, and only
the prefetch containers see it; the engine reads the cache offline.
*/}}
{{- define "aim-engine.tokenVolume" -}}
{{- with .Values.huggingface.tokenSecret.name }}
- name: hf-token
  secret:
    secretName: {{ . | quote }}
    items:
      - key: {{ $.Values.huggingface.tokenSecret.key | quote }}
        path: token
    defaultMode: 288  {{- /* 0440: root-owned, readable through fsGroup by the pod's user only */}}
{{- end }}
{{- end }}

{{- define "aim-engine.bundleName" -}}
{{- include "aim-engine.trunc" (printf "%s-aimgen" .Release.Name) -}}
{{- end }}

{{/* The aimgen bundle's volume when no aimgen image is set (render/kserve.py _bundle_volumes()). Argument: $. */}}
{{- define "aim-engine.bundleVolume" -}}
{{- if not .Values.cache.image }}
- name: aimgen-bundle
  configMap:
    name: {{ include "aim-engine.bundleName" . | quote }}
{{- end }}
{{- end }}

{{/* Volumes only the prefetch container uses: the token file and the bundle. Argument: $. */}}
{{- define "aim-engine.prefetchVolumes" -}}
{{- include "aim-engine.tokenVolume" . }}
{{- include "aim-engine.bundleVolume" . }}
{{- end }}

{{/*
HF_ENDPOINT for the containers that talk to the Hub (render/kserve.py hub_env()), as YAML ({} without a mirror).
Argument: $.
*/}}
{{- define "aim-engine.hubEnv" -}}
{{- with .Values.huggingface.endpoint }}
HF_ENDPOINT: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Ports out to the Hub or its mirror (aimgen.sources.hub_egress_ports()): 443 always (redirects to a CDN), and the
mirror's own port. Argument: $. Result: a YAML list of port numbers, ascending.
*/}}
{{- define "aim-engine.hubEgressPorts" -}}
{{- $port := 443 -}}
{{- with .Values.huggingface.endpoint -}}
  {{- $url := urlParse . -}}
  {{- $given := regexFind ":[0-9]+$" $url.host | trimPrefix ":" -}}
  {{- $port = ternary (atoi $given) (ternary 80 443 (eq $url.scheme "http")) (ne $given "") -}}
{{- end -}}
{{- if eq $port 443 -}}
{{- toYaml (list 443) -}}
{{- else if lt $port 443 -}}
{{- toYaml (list $port 443) -}}
{{- else -}}
{{- toYaml (list 443 $port) -}}
{{- end -}}
{{- end }}

{{/*
The image and command of the prefetch container and the test Pod (render/kserve.py prefetch_image()): the aimgen
image when cache.image is set, else the engine image running the bundle. Argument: dict "ctx" $ "image" ENGINE_IMAGE.
*/}}
{{- define "aim-engine.aimgenImage" -}}
{{- include "aim-engine.image" (dict "ctx" .ctx "image" (.ctx.Values.cache.image | default .image)) -}}
{{- end }}

{{- define "aim-engine.aimgenCommand" -}}
{{- if .Values.cache.image -}}
["aimgen"]
{{- else -}}
["python3", "/opt/aimgen/aimgen.pyz"]
{{- end -}}
{{- end }}

{{- define "aim-engine.bundleMount" -}}
{{- if not .Values.cache.image }}
- name: aimgen-bundle
  mountPath: /opt/aimgen
  readOnly: true
{{- end }}
{{- end }}

{{/* checkov skips for a pod with an image pinned by tag (render/kserve.py image_skips()). Argument: LIST of IMAGEs. */}}
{{- define "aim-engine.imageSkips" -}}
{{- $tagged := false -}}
{{- range . }}{{ if not (contains "@" .) }}{{ $tagged = true }}{{ end }}{{ end -}}
{{- if $tagged }}
checkov.io/skip1: "CKV_K8S_43=pinned by its release tag; set imageDigests in the chart values to pin by digest"
checkov.io/skip2: "CKV_K8S_15=IfNotPresent on a pinned tag; Always would make every pod start depend on the registry"
{{- end }}
{{- end }}

{{/*
The cache prefetch container (`aimgen cache prefetch`): render/kserve.py prefetch_container().
Argument: dict "ctx" $ "profile" ENTRY "env" PREFETCH_ENV.
*/}}
{{- define "aim-engine.prefetchContainer" -}}
- name: model-prefetch
  image: {{ include "aim-engine.aimgenImage" (dict "ctx" .ctx "image" .profile.runtime.image) | quote }}
  imagePullPolicy: IfNotPresent
  command: {{ include "aim-engine.aimgenCommand" .ctx }}
  args:
    {{- toYaml .profile.prefetchArgs | nindent 4 }}
    {{- if .ctx.Values.huggingface.tokenSecret.name }}
    - --token-file
    - /var/run/secrets/huggingface/token
    {{- end }}
  env:
    {{- $env := merge (include "aim-engine.hubEnv" .ctx | fromYaml) .env }}
    {{- range $k := keys $env | sortAlpha }}
    - name: {{ $k | quote }}
      value: {{ index $env $k | toString | quote }}
    {{- end }}
  resources:
    requests:
      cpu: "1"
      memory: 2Gi
      ephemeral-storage: 1Gi
    limits:
      cpu: "4"
      memory: 4Gi
      ephemeral-storage: 2Gi
  volumeMounts:
    - name: model-cache
      mountPath: /models
    - name: tmp
      mountPath: /tmp
    {{- if .ctx.Values.huggingface.tokenSecret.name }}
    - name: hf-token
      mountPath: /var/run/secrets/huggingface
      readOnly: true
    {{- end }}
    {{- include "aim-engine.bundleMount" .ctx | nindent 4 }}
  securityContext:
    {{- include "aim-engine.containerSecurityContext" true | nindent 4 }}
{{- end }}

{{/*
Placement of serving pods: render/k8s.py placement_fields(). Argument: dict "ctx" $ "deviceIds" IDS.
*/}}
{{- define "aim-engine.placement" -}}
{{- $pool := .ctx.Values.nodePool -}}
{{- with $pool.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $pool.matchDeviceIds }}
{{- $ids := .deviceIds }}
{{- if $ids }}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - key: amd.com/gpu.device-id
              operator: In
              values:
                {{- toYaml $ids | nindent 16 }}
{{- end }}
{{- end }}
{{- with $pool.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $pool.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Public host of one deployment: the host itself, or <name>.<host> when the release serves several models. */}}
{{- define "aim-engine.publicHost" -}}
{{- if gt (int .count) 1 -}}
{{- printf "%s.%s" .name .host -}}
{{- else -}}
{{- .host -}}
{{- end -}}
{{- end }}

{{/*
In-cluster URL of a model: KServe's RawDeployment Service <name>-predictor, port 80; with api llmisvc the
LLMInferenceService's workload Service <name>-kserve-workload-svc on KServe's port 8000 (llmisvc workload.go).
Argument: dict "ctx" $ "name" NAME.
*/}}
{{- define "aim-engine.endpoint" -}}
{{- if eq .ctx.Values.api "llmisvc" -}}
http://{{ include "aim-engine.trunc" (printf "%s-kserve-workload-svc" .name) }}.{{ .ctx.Release.Namespace }}.svc.cluster.local:8000
{{- else -}}
http://{{ include "aim-engine.trunc" (printf "%s-predictor" .name) }}.{{ .ctx.Release.Namespace }}.svc.cluster.local
{{- end -}}
{{- end }}

{{/*
One container of the `helm test` Pod. Argument: dict "ctx" $ "name" CONTAINER_NAME "args" ARGS "image" ENGINE_IMAGE.
*/}}
{{- define "aim-engine.testContainer" -}}
- name: {{ include "aim-engine.trunc" .name | quote }}
  image: {{ include "aim-engine.aimgenImage" . | quote }}
  imagePullPolicy: IfNotPresent
  command: {{ include "aim-engine.aimgenCommand" .ctx }}
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    - name: HOME
      value: /tmp
  resources:
    requests:
      cpu: 100m
      memory: 256Mi
      ephemeral-storage: 64Mi
    limits:
      cpu: "1"
      memory: 512Mi
      ephemeral-storage: 256Mi
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- include "aim-engine.bundleMount" .ctx | nindent 4 }}
  securityContext:
    {{- include "aim-engine.containerSecurityContext" true | nindent 4 }}
{{- end }}

{{/* Egress to cluster DNS (render/kserve.py DNS_EGRESS): CoreDNS/kube-dns pods carry k8s-app=kube-dns. */}}
{{- define "aim-engine.dnsEgress" -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}
