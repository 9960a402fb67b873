{{/*
Autoscaling through KServe's KEDA integration (render/autoscaling.py): InferenceService fields only; KServe
creates and owns the ScaledObject <name>-predictor. The InferenceService template sets the
serving.kserve.io/autoscalerClass annotation (keda when enabled, none otherwise).
*/}}

{{/*
predictor.autoScaling of one InferenceService, empty when autoscaling is off.
Argument: dict "ctx" $ "name" ISVC_NAME "profile" ENTRY.
*/}}
{{- define "aim-engine.autoscaling.predictor" -}}
{{- $a := .ctx.Values.autoscaling -}}
{{- if $a.enabled -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d): raise maxReplicas or lower minReplicas" (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- if gt (int .profile.nodes) 1 -}}
{{- fail (printf "autoscaling.enabled: %s spans %d nodes (a KServe multi-node group) and KServe v0.20 scales no multi-node predictor (it would scale the head alone); set autoscaling.enabled=false or serve it on one node" .name (int .profile.nodes)) -}}
{{- end -}}
{{- /* (queued requests, KV-cache usage) gauges per engine: render/autoscaling.py SCALING_METRICS. */ -}}
{{- $names := get (dict "vllm" (list "vllm:num_requests_waiting" "vllm:kv_cache_usage_perc") "sglang" (list "sglang:num_queue_reqs" "sglang:token_usage")) .profile.runtime.engine -}}
{{- if not $names -}}
{{- fail (printf "autoscaling.enabled: no scaling metrics known for engine %q of %s (known: vllm, sglang); set autoscaling.enabled=false" .profile.runtime.engine .name) -}}
{{- end -}}
{{- $sel := printf "namespace=%q, pod=~%q" .ctx.Release.Namespace (printf "%s-predictor-.*" .name) -}}
{{- $triggers := list
  (list (printf "sum(%s{%s})" (index $names 0) $sel) $a.waitingPerReplica)
  (list (printf "sum(%s{%s})" (index $names 1) $sel) $a.kvCachePerReplica) -}}
autoScaling:
  metrics:
    {{- range $t := $triggers }}
    - type: External
      external:
        metric:
          backend: prometheus
          serverAddress: {{ $a.prometheusAddress | quote }}
          query: {{ index $t 0 | quote }}
        target:
          type: Value
          value: {{ index $t 1 | toString | quote }}
    {{- end }}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: {{ int $a.scaleUpStabilizationSeconds }}
    scaleDown:
      stabilizationWindowSeconds: {{ int $a.scaleDownStabilizationSeconds }}
{{- end -}}
{{- end }}
