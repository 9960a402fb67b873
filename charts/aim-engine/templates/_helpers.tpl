{{/*
Helpers for aim-engine. The objects mirror generator/aimgen/render/{k8s,kserve,exposure}.py field for field:
`helm template` of `aimgen values` output equals `aimgen render` (tests/test_chart_equivalence.py).
Selection and sizing are decided in Python and shipped in files/zero-config/ (per model and GPU: the recipe
profiles and the answer to every zero-config install), indexed by files/chart.json; the templates only look up.
*/}}

{{/*
A name as a DNS label: aimgen.names.dns_label(), the one naming rule (lower-case [a-z0-9-], starting with a
letter, at most "max" characters; a cut name ends with 8 hex of the SHA-256 of the text).
Argument: dict "text" TEXT "max" MAX. tests/test_chart_equivalence.py renders release names up to 53 characters.
*/}}
{{- define "aim-engine.dnsLabel" -}}
{{- $max := int .max -}}
{{- $clean := regexReplaceAll "[^a-z0-9-]+" (lower .text) "-" | trimAll "-" -}}
{{- $clean = regexReplaceAll "-{2,}" $clean "-" -}}
{{- if not (regexMatch "^[a-z]" $clean) -}}
{{- $clean = printf "m-%s" $clean | trimSuffix "-" -}}
{{- end -}}
{{- if le (len $clean) $max -}}
{{- $clean -}}
{{- else -}}
{{- printf "%s-%s" (trunc (sub $max 9 | int) $clean | trimSuffix "-") (sha256sum .text | trunc 8) -}}
{{- end -}}
{{- end }}

{{/* A name cut to a DNS label of 63 characters (aim-engine.dnsLabel). Argument: TEXT. */}}
{{- define "aim-engine.trunc" -}}
{{- include "aim-engine.dnsLabel" (dict "text" . "max" 63) -}}
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
The release's deployments, resolved, as JSON: {"items": [{"name": N, "profile": ENTRY, "runtimeName": R,
"fallbacks": [...], "deviceIds": [...]}], "cacheEnv": {...}, "prefetchEnv": {...}, "ingressGatewayNamespace": NS}.
ENTRY is render/values.py profile_entry() (a compiled one for the release's API: aim-engine.forApi), R the
release-scoped runtime name (aimgen.names.runtime_name()), deviceIds the GPU type's PCI ids,
cacheEnv / prefetchEnv the env of the serving / prefetch containers (aimgen.cache.plan, via the table).
Nothing is chosen here: zero-config (`model` + `gpu` [+ pins]) looks up the answer `aimgen chart sync` compiled
from aimgen.select for that request (files/zero-config/); `deployments` items carry an inline `profile` or name
one by its exact key in the profiles of files/zero-config/<model>--<gpu>.json (each file parsed once). Templates
call it once each.
*/}}
{{- define "aim-engine.deployments" -}}
{{- $table := .Files.Get "files/chart.json" | fromJson -}}
{{- $v := .Values -}}
{{- $items := list -}}
{{- if $v.model -}}
  {{- $name := $v.name -}}
  {{- if $name -}}
    {{- if gt (len $name) 45 -}}
      {{- fail (printf "name %q has %d characters; KServe derives longer names from it: set `name` to at most 45 characters" $name (len $name)) -}}
    {{- end -}}
    {{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
      {{- fail (printf "name %q is not a DNS label: set `name` to lower-case letters, digits and '-', starting with a letter" $name) -}}
    {{- end -}}
  {{- else -}}
    {{- $name = include "aim-engine.dnsLabel" (dict "text" .Release.Name "max" 45) -}}
  {{- end -}}
  {{- $answer := include "aim-engine.zeroConfig" (dict "ctx" . "table" $table) | fromJson -}}
  {{- $items = append $items (dict "name" $name "profile" $answer.profile "fallbacks" $answer.fallbacks "features" $v.features) -}}
{{- else if $v.deployments -}}
  {{- $seen := dict -}}
  {{- $files := dict -}}
  {{- range $i, $d := $v.deployments -}}
    {{- if hasKey $seen $d.name -}}
      {{- fail (printf "deployments[%d]: name %q is already used by another deployment; give each a distinct name" $i $d.name) -}}
    {{- end -}}
    {{- $_ := set $seen $d.name true -}}
    {{- $p := $d.profile -}}
    {{- if not $p -}}
      {{- $key := printf "%s|%s|%d|%s|%s|%s" $d.model $d.gpu (int $d.gpus) $d.precision $d.backend $d.metric -}}
      {{- $file := index $table.zeroConfig (printf "%s|%s" $d.model $d.gpu) | default "" -}}
      {{- if and $file (not (hasKey $files $file)) -}}
        {{- $_ := set $files $file ($.Files.Get $file | fromJson) -}}
      {{- end -}}
      {{- $z := index $files $file | default (dict "profiles" dict) -}}
      {{- $p = index $z.profiles $key -}}
      {{- if $p -}}
        {{- $p = include "aim-engine.storedProfile" (dict "ctx" $ "z" $z "entry" $p "llmisvc" (index ($z.llmisvc | default dict) $key)) | fromJson -}}
      {{- end -}}
      {{- if not $p -}}
        {{- fail (printf "deployments[%d] (%s): the chart has no profile %s; `aimgen values %s --gpu %s` writes the values for it (an inline profile when it is not a recipe's)" $i $d.name $key $d.model $d.gpu) -}}
      {{- end -}}
    {{- end -}}
    {{- $items = append $items (dict "name" $d.name "profile" $p "fallbacks" ($d.fallbacks | default list) "features" $d.features) -}}
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
  {{- $rt := $d.profile.runtime -}}
  {{- $rtName := include "aim-engine.trunc" (printf "%s-%s" $.Release.Name $rt.baseName) -}}
  {{- $profile := include "aim-engine.withFeatures" $d | fromJson -}}
  {{- $resolved = append $resolved (merge (dict "profile" $profile "runtimeName" $rtName "deviceIds" ($gpu.deviceIds | default list)) $d) -}}
{{- end -}}
{{- toJson (dict "items" $resolved "cacheEnv" $table.cache.servingEnv "prefetchEnv" $table.cache.prefetchEnv "ingressGatewayNamespace" $table.llmisvc.ingressGatewayNamespace) -}}
{{- end }}

{{/*
The zero-config answer: files/zero-config/<model>--<gpu>.json holds, for each pinned combination
("gpus|precision|backend|metric", empty where open), what `aimgen render MODEL --gpu GPU [pins]` decides: a
profile (inline, or the key of a cited one in the file's `profiles`) with its fallbacks, or the message it exits
with (after "MODEL on GPU with PINS: ", aimgen.chart_table.refusal()). Every profile entry of a file lists only what it
does not share with the file's `base` for its backend. Argument: dict "ctx" $ "table" TABLE.
*/}}
{{- define "aim-engine.zeroConfig" -}}
{{- $v := .ctx.Values -}}
{{- $file := index .table.zeroConfig (printf "%s|%s" $v.model $v.gpu) -}}
{{- if not $file -}}
  {{- fail (printf "model %q is not in the chart's catalog (see `aimgen list models`); `aimgen values %s --gpu %s --model-config config.json` writes values for any model" $v.model $v.model $v.gpu) -}}
{{- end -}}
{{- $z := .ctx.Files.Get $file | fromJson -}}
{{- $pins := list (toString ($v.gpus | default "")) ($v.precision | default "") ($v.backend | default "") ($v.metric | default "") -}}
{{- $key := join "|" $pins -}}
{{- if not (hasKey .table.zeroConfigKeys $key) -}}
  {{- fail (printf "zero-config answers cover at most two of gpus, precision, backend, metric; for more, `aimgen values %s --gpu %s ...` writes the values" $v.model $v.gpu) -}}
{{- end -}}
{{- $choice := index $z.choices (int (index $z.answers (int (index .table.zeroConfigKeys $key)))) -}}
{{- if $choice.error -}}
  {{- $asked := list -}}
  {{- range $i, $d := list "gpus" "precision" "backend" "metric" -}}
    {{- if index $pins $i }}{{ $asked = append $asked (printf "%s=%s" $d (index $pins $i)) }}{{ end -}}
  {{- end -}}
  {{- fail (printf "%s on %s%s: %s" $v.model $v.gpu (ternary (printf " with %s" (join " " $asked)) "" (gt (len $asked) 0)) $choice.error) -}}
{{- end -}}
{{- $variant := $choice.llmisvc | default (index ($z.llmisvc | default dict) ($choice.key | default "")) -}}
{{- if $choice.key -}}
  {{- $choice = dict "profile" (index $z.profiles $choice.key) "fallbacks" $choice.fallbacks -}}
{{- end -}}
{{- $profile := include "aim-engine.storedProfile" (dict "ctx" .ctx "z" $z "entry" $choice.profile "llmisvc" $variant) | fromJson -}}
{{- toJson (dict "profile" $profile "fallbacks" $choice.fallbacks) -}}
{{- end }}

{{/*
A profile entry as a zero-config file stores it, made whole: the fields it shares with the file's other entries of
its backend (`base`) merged back, then the API's variant laid over it (aim-engine.forApi).
Argument: dict "ctx" $ "z" FILE "entry" ENTRY "llmisvc" VARIANT. Result: JSON.
*/}}
{{- define "aim-engine.storedProfile" -}}
{{- $profile := merge .entry (index .z.base .entry.backend) -}}
{{- include "aim-engine.forApi" (dict "ctx" .ctx "profile" $profile "llmisvc" .llmisvc) -}}
{{- end }}

{{/*
A compiled profile for the release's API: with api llmisvc, the fields `aimgen chart sync` compiled for KServe's
LLMInferenceService (chart_table.llmisvc_variant(): the engine's port 8000 in its argv and runtime, the workers'
leader address) laid over it; the port is decided in Python per API, never here. Compiled with the cache on: with
cache.enabled=false KServe fills /mnt/models, an argv only `aimgen values --api llmisvc --no-cache` writes.
Argument: dict "ctx" $ "profile" ENTRY "llmisvc" VARIANT.
*/}}
{{- define "aim-engine.forApi" -}}
{{- $p := .profile -}}
{{- if eq .ctx.Values.api "llmisvc" -}}
  {{- if not .ctx.Values.cache.enabled -}}
    {{- fail (printf "%s on %s with api llmisvc and cache.enabled=false: KServe downloads the model into /mnt/models, which the chart's compiled profiles do not read; `aimgen values %s --gpu %s --api llmisvc --no-cache` writes the values" $p.model $p.gpu $p.model $p.gpu) -}}
  {{- end -}}
  {{- $p = merge (deepCopy (.llmisvc | default dict)) $p -}}
{{- end -}}
{{- toJson $p -}}
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

{{/*
The fixed pod pieces (security contexts, prefetch resources, sizes, grace, backoff, TTL, PDB, token file mode,
probe timings) as aimgen's builders build them from the spec's PodPolicy: files/pod.json, written by `aimgen chart
sync`. Argument: $. Result: JSON.
*/}}
{{- define "aim-engine.pod" -}}
{{- .Files.Get "files/pod.json" -}}
{{- end }}

{{/* Pod security context (render/k8s.py pod_security_context()). Argument: $. */}}
{{- define "aim-engine.podSecurityContext" -}}
{{- toYaml (include "aim-engine.pod" . | fromJson).podSecurityContext -}}
{{- end }}

{{/*
Container security context (render/k8s.py container_security_context()): read-only root where the container
writes only to its volumes. Argument: dict "ctx" $ "readOnly" BOOL.
*/}}
{{- define "aim-engine.containerSecurityContext" -}}
{{- $pod := include "aim-engine.pod" .ctx | fromJson -}}
{{- toYaml (ternary $pod.readOnlyContainerSecurityContext $pod.containerSecurityContext .readOnly) -}}
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
    defaultMode: {{ (include "aim-engine.pod" $ | fromJson).tokenFileMode | int }}
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
The cache prefetch containers (`aimgen cache prefetch`), render/kserve.py prefetch_containers(): the checkpoint's
(model-prefetch), then one per repo the engine loads besides it (model-prefetch-1, ...: a draft model; the
profile's extraRepos with the switched-on features' ones, aim-engine.withFeatures).
Argument: dict "ctx" $ "profile" ENTRY "env" PREFETCH_ENV.
*/}}
{{- define "aim-engine.prefetchContainers" -}}
{{- include "aim-engine.prefetchContainer" (dict "ctx" .ctx "profile" .profile "env" .env "name" "model-prefetch" "args" .profile.prefetchArgs) }}
{{- range $i, $r := .profile.extraRepos | default list }}
{{ include "aim-engine.prefetchContainer" (dict "ctx" $.ctx "profile" $.profile "env" $.env "name" (printf "model-prefetch-%d" (add1 $i)) "args" $r.prefetchArgs) }}
{{- end }}
{{- end }}

{{/* One prefetch container. Argument: dict "ctx" $ "profile" ENTRY "env" PREFETCH_ENV "name" NAME "args" ARGV. */}}
{{- define "aim-engine.prefetchContainer" -}}
- name: {{ .name }}
  image: {{ include "aim-engine.aimgenImage" (dict "ctx" .ctx "image" .profile.runtime.image) | quote }}
  imagePullPolicy: IfNotPresent
  command: {{ include "aim-engine.aimgenCommand" .ctx }}
  args:
    {{- toYaml .args | nindent 4 }}
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
    {{- toYaml (include "aim-engine.pod" .ctx | fromJson).prefetchResources | nindent 4 }}
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
    {{- include "aim-engine.containerSecurityContext" (dict "ctx" .ctx "readOnly" true) | nindent 4 }}
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
    {{- toYaml (include "aim-engine.pod" .ctx | fromJson).testResources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- include "aim-engine.bundleMount" .ctx | nindent 4 }}
  securityContext:
    {{- include "aim-engine.containerSecurityContext" (dict "ctx" .ctx "readOnly" true) | nindent 4 }}
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
