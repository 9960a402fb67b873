{{/*
Monitoring helpers (render/monitoring.py). files/dashboard.json and files/alerts.json are written by
`aimgen chart sync` from aimgen.observability; their __AIM_*__ placeholders are filled here exactly as
aimgen.observability.template.fill() fills them: each value JSON-escaped, so both paths give identical text.
*/}}

{{/* The placeholder → value map of this release, as JSON. */}}
{{- define "aim-engine.monitoring.values" -}}
{{- $names := list -}}
{{- range $d := (include "aim-engine.deployments" . | fromJson).items -}}
{{- $names = append $names $d.name -}}
{{- end -}}
{{- $alerts := .Values.monitoring.alerts -}}
{{- /* KServe's Deployment (or LeaderWorkerSet) names by API (render/monitoring.py DEPLOYMENT_SUFFIX) */ -}}
{{- $suffix := ternary "-kserve(-mn)?(-prefill)?" "-predictor" (eq .Values.api "llmisvc") -}}
{{- /* and a multi-node InferenceService's worker Deployment (render/monitoring.py WORKER_SUFFIX) */ -}}
{{- $workers := ternary "" "(-worker)?" (eq .Values.api "llmisvc") -}}
{{- $ns := .Release.Namespace -}}
{{- toJson (dict
  "__AIM_RELEASE__" .Release.Name
  "__AIM_NAMESPACE__" $ns
  "__AIM_DASHBOARD_UID__" (printf "aim-engine-%s" (sha256sum (printf "%s/%s" $ns .Release.Name) | trunc 16))
  "__AIM_SELECTOR__" (printf "namespace=%q, pod=~%q" $ns (printf "(%s)%s-.*" (join "|" $names) $suffix))
  "__AIM_DEPLOYMENTS__" (printf "(%s)%s%s" (join "|" $names) $suffix $workers)
  "__AIM_TTFT_P95_SECONDS__" (toString $alerts.ttftP95Seconds)
  "__AIM_KV_CACHE_USAGE__" (toString $alerts.kvCacheUsage)
  "__AIM_WAITING_REQUESTS__" (toString $alerts.waitingRequests)
  "__AIM_GPU_MEMORY_USAGE__" (toString $alerts.gpuMemoryUsage)
  "__AIM_STARTUP_GRACE__" (printf "%dm" (int $alerts.startupGraceMinutes))
) -}}
{{- end }}

{{/* A shipped file with the release's values filled in. Argument: dict "ctx" $ "file" PATH. */}}
{{- define "aim-engine.monitoring.fill" -}}
{{- $text := .ctx.Files.Get .file -}}
{{- range $key, $value := include "aim-engine.monitoring.values" .ctx | fromJson -}}
{{- $text = replace $key ($value | toJson | trimPrefix "\"" | trimSuffix "\"") $text -}}
{{- end -}}
{{- $text -}}
{{- end }}

{{/* Metadata labels of the PodMonitor and the PrometheusRule: ours plus what the user's Prometheus selects. */}}
{{- define "aim-engine.monitoring.labels" -}}
{{- $labels := include "aim-engine.labels" (dict "ctx" .ctx "component" .component) | fromYaml -}}
{{- toYaml (merge (deepCopy .ctx.Values.monitoring.selectorLabels) $labels) -}}
{{- end }}
