{{/*
What the serving pods of one deployment share: a multi-node group's head (predictor) and its workers
(predictor.workerSpec) get the same pod fields and the same container body (render/kserve.py _pod_fields(),
_add_workers()). Argument: dict "ctx" $ "d" DEPLOYMENT "resolved" RESOLVED.
*/}}
{{- define "aim-engine.servingPodFields" -}}
{{- $ := .ctx -}}
{{- $p := .d.profile -}}
serviceAccountName: {{ include "aim-engine.serviceAccountName" $ | quote }}
automountServiceAccountToken: false
securityContext:
  {{- include "aim-engine.podSecurityContext" $ | nindent 2 }}
{{- with include "aim-engine.placement" (dict "ctx" $ "deviceIds" .d.deviceIds) | trim }}
{{ . }}
{{- end }}
{{- $pod := include "aim-engine.pod" $ | fromJson }}
terminationGracePeriodSeconds: {{ $pod.terminationGracePeriodSeconds | int }}
{{- if and $.Values.cache.enabled $.Values.cache.initContainer }}
initContainers:
  {{- include "aim-engine.prefetchContainers" (dict "ctx" $ "profile" $p "env" .resolved.prefetchEnv) | nindent 2 }}
{{- end }}
volumes:
  {{- if $.Values.cache.enabled }}
  - name: model-cache
    persistentVolumeClaim:
      claimName: {{ include "aim-engine.cacheClaimName" $ | quote }}
  {{- end }}
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ $p.shmSize | quote }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ $pod.tmpSizeLimit | quote }}
  {{- if and $.Values.cache.enabled $.Values.cache.initContainer }}
  {{- with include "aim-engine.prefetchVolumes" $ | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- end }}
{{- end }}

{{/*
The engine container's env, resources, mounts and security context (head and workers alike).
Argument: dict "ctx" $ "d" DEPLOYMENT "resolved" RESOLVED ["head" true: a multi-node head, which learns its own
address from the downward API for the workers' rendezvous (aimgen.multinode)].
*/}}
{{- define "aim-engine.servingContainerFields" -}}
{{- $ := .ctx -}}
{{- $p := .d.profile -}}
{{- $gpus := int $p.gpus -}}
{{- /* The engine's env: the profile's over the cache's (HF_HOME on the claim, offline) and the Hub mirror's, sorted by name. */}}
{{- $env := deepCopy $p.env }}
{{- if $.Values.cache.enabled }}
{{- $env = merge $env .resolved.cacheEnv ($p.compileCacheEnv | default dict) }}
{{- end }}
{{- $env = merge $env (include "aim-engine.hubEnv" $ | fromYaml) }}
{{- if $env }}
env:
  {{- range $k := keys $env | sortAlpha }}
  - name: {{ $k | quote }}
    value: {{ index $env $k | toString | quote }}
  {{- end }}
  {{- if .head }}
  - name: POD_IP
    valueFrom:
      fieldRef:
        fieldPath: status.podIP
  {{- end }}
{{- else }}
env: []
{{- end }}
resources:
  {{- $amounts := dict "cpu" (mul $.Values.nodePool.cpuPerGpu $gpus | toString) "memory" (printf "%dGi" (mul $.Values.nodePool.memoryGiBPerGpu $gpus)) "amd.com/gpu" (toString $gpus) }}
  requests:
    {{- toYaml $amounts | nindent 4 }}
  limits:
    {{- toYaml $amounts | nindent 4 }}
volumeMounts:
  {{- if $.Values.cache.enabled }}
  - name: model-cache
    mountPath: /models
  {{- end }}
  - name: dshm
    mountPath: /dev/shm
  - name: tmp
    mountPath: /tmp
securityContext:
  {{- include "aim-engine.containerSecurityContext" (dict "ctx" $ "readOnly" true) | nindent 2 }}
{{- end }}
