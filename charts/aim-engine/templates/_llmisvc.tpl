{{/*
LLMInferenceService helpers (api: llmisvc; render/llmisvc.py). The profiles come compiled by
`aimgen values --api llmisvc` (their engines listen on KServe's port, their prefill/decode roles cited): the
templates only place them.
*/}}

{{/*
The release's deployments for api llmisvc, checked: each profile must have been compiled for llmisvc, and carry
prefill/decode roles exactly when disaggregation.enabled says so. Same JSON as aim-engine.deployments.
*/}}
{{- define "aim-engine.llmisvc.deployments" -}}
{{- $resolved := include "aim-engine.deployments" . | fromJson -}}
{{- range $d := $resolved.items -}}
  {{- if ne ($d.profile.api | default "isvc") "llmisvc" -}}
    {{- fail (printf "deployment %s: api is llmisvc but its profile was compiled for an InferenceService; write the deployments with `aimgen values %s --gpu %s --api llmisvc`" $d.name $d.profile.model $d.profile.gpu) -}}
  {{- end -}}
  {{- if and (gt (int $d.profile.nodes) 1) (gt (int $d.profile.pipelineParallelSize) 1) -}}
    {{- fail (printf "deployment %s: a pipeline-parallel group over %d nodes needs KServe's kserve-config-llm-worker-pipeline-parallel preset, which KServe v0.20 does not ship (aimgen.multinode.check_lws_group); use api isvc for it" $d.name (int $d.profile.nodes)) -}}
  {{- end -}}
  {{- if ne (hasKey $d.profile "disaggregation") $.Values.disaggregation.enabled -}}
    {{- fail (printf "deployment %s: disaggregation.enabled is %v but its profile %s prefill/decode roles; write the values with `aimgen values ... --api llmisvc%s`" $d.name $.Values.disaggregation.enabled (ternary "has" "has no" (hasKey $d.profile "disaggregation")) (ternary " --disaggregate" "" $.Values.disaggregation.enabled)) -}}
  {{- end -}}
{{- end -}}
{{- if $.Values.autoscaling.enabled -}}
  {{- fail "autoscaling.enabled drives KServe's KEDA scaling of an InferenceService; with api llmisvc set fixed replicas (autoscaling.enabled: false)" -}}
{{- end -}}
{{- toJson $resolved -}}
{{- end }}

{{/* The LLMInferenceServiceConfig of a deployment (render/llmisvc.py config_name()). Argument: NAME. */}}
{{- define "aim-engine.llmisvc.configName" -}}
{{- include "aim-engine.trunc" (printf "%s-amd" .) -}}
{{- end }}

{{/*
Labels of the release's (or one model's) engine pods as KServe makes them (render/llmisvc.py workload_selector()).
Argument: dict "ctx" $ ["name" NAME].
*/}}
{{- define "aim-engine.llmisvc.selector" -}}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
kserve.io/component: workload
{{- with .name }}
app.kubernetes.io/name: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
One engine pod (render/llmisvc.py pod_template()): the `main` container that replaces KServe's preset launcher,
the cache claim and its prefetch init container, /dev/shm, placement, security contexts. A multi-node group's
head learns its own address from the downward API; its `worker` pod runs the worker argv with no port or probes.
Argument: dict "ctx" $ "d" DEPLOYMENT "env" CACHE_ENV "prefetchEnv" PREFETCH_ENV ["role" ROLE] ["worker" true].
*/}}
{{- define "aim-engine.llmisvc.pod" -}}
{{- $ctx := .ctx -}}
{{- $p := .d.profile -}}
{{- $rt := $p.runtime -}}
{{- $multinode := gt (int $p.nodes) 1 -}}
{{- $role := .role | default (dict "port" $rt.port "args" (ternary $p.workerArgs $p.args (eq .worker true)) "env" $p.env "gpus" $p.gpus "shmSize" $p.shmSize "podIpEnv" (ternary (list "POD_IP") list (and $multinode (ne .worker true)))) -}}
{{- $gpus := int $role.gpus -}}
{{- $port := int $role.port -}}
{{- $env := deepCopy $role.env -}}
{{- if $ctx.Values.cache.enabled -}}
{{- $env = merge $env .env ($p.compileCacheEnv | default dict) -}}
{{- end -}}
{{- $env = merge $env (include "aim-engine.hubEnv" $ctx | fromYaml) -}}
serviceAccountName: {{ include "aim-engine.serviceAccountName" $ctx | quote }}
automountServiceAccountToken: false
securityContext:
  {{- include "aim-engine.podSecurityContext" $ctx | nindent 2 }}
{{- with include "aim-engine.placement" (dict "ctx" $ctx "deviceIds" .d.deviceIds) | trim }}
{{ . }}
{{- end }}
{{- $pod := include "aim-engine.pod" $ctx | fromJson }}
terminationGracePeriodSeconds: {{ $pod.terminationGracePeriodSeconds | int }}
{{- if and $ctx.Values.cache.enabled $ctx.Values.cache.initContainer }}
initContainers:
  {{- include "aim-engine.prefetchContainers" (dict "ctx" $ctx "profile" $p "env" .prefetchEnv) | nindent 2 }}
{{- end }}
volumes:
  {{- if $ctx.Values.cache.enabled }}
  - name: model-cache
    persistentVolumeClaim:
      claimName: {{ include "aim-engine.cacheClaimName" $ctx | quote }}
  {{- end }}
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ $role.shmSize | quote }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ $pod.tmpSizeLimit | quote }}
  {{- if and $ctx.Values.cache.enabled $ctx.Values.cache.initContainer }}
  {{- with include "aim-engine.prefetchVolumes" $ctx | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- end }}
containers:
  - name: main
    image: {{ include "aim-engine.image" (dict "ctx" $ctx "image" $rt.image) | quote }}
    imagePullPolicy: IfNotPresent
    command:
      {{- toYaml $rt.command | nindent 6 }}
    args:
      {{- toYaml $role.args | nindent 6 }}
    {{- if ne .worker true }}
    ports:
      - containerPort: {{ $port }}
        protocol: TCP
    {{- end }}
    env:
      {{- range $k := keys $env | sortAlpha }}
      - name: {{ $k | quote }}
        value: {{ index $env $k | toString | quote }}
      {{- end }}
      {{- range $role.podIpEnv }}
      - name: {{ . | quote }}
        valueFrom:
          fieldRef:
            fieldPath: status.podIP
      {{- end }}
    resources:
      {{- $amounts := dict "cpu" (mul $ctx.Values.nodePool.cpuPerGpu $gpus | toString) "memory" (printf "%dGi" (mul $ctx.Values.nodePool.memoryGiBPerGpu $gpus)) "amd.com/gpu" (toString $gpus) }}
      requests:
        {{- toYaml $amounts | nindent 8 }}
      limits:
        {{- toYaml $amounts | nindent 8 }}
    volumeMounts:
      {{- if $ctx.Values.cache.enabled }}
      - name: model-cache
        mountPath: /models
      {{- end }}
      - name: dshm
        mountPath: /dev/shm
      - name: tmp
        mountPath: /tmp
    {{- range $probe := ternary list (list "startupProbe" "readinessProbe" "livenessProbe") (eq .worker true) }}
    {{- $fields := deepCopy (index (include "aim-engine.pod" $ctx | fromJson).probes $probe) }}
    {{- if eq $probe "startupProbe" }}
    {{- $_ := set $fields "failureThreshold" (int $p.startupFailureThreshold) }}
    {{- end }}
    {{ $probe }}:
      httpGet:
        path: {{ $rt.healthPath | quote }}
        port: {{ $port }}
        scheme: HTTP
      {{- toYaml $fields | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "aim-engine.containerSecurityContext" (dict "ctx" $ctx "readOnly" true) | nindent 6 }}
{{- end }}

{{/* Prometheus annotations KServe copies onto the pods (render/llmisvc.py scrape_annotations()). Argument: dict "rt" RUNTIME "port" PORT. */}}
{{- define "aim-engine.llmisvc.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | int | quote }}
prometheus.io/path: {{ .rt.metricsPath | quote }}
{{- end }}

{{/*
Every pod of one model's multi-node groups, leaders and workers (render/llmisvc.py group_selector()): KServe names
both after the service and copies spec.labels onto both. Argument: dict "ctx" $ "name" NAME.
*/}}
{{- define "aim-engine.llmisvc.groupSelector" -}}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/name: {{ .name | quote }}
{{- end }}
