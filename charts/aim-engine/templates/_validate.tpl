{{/*
Checks across values that JSON schema cannot express (values.schema.json holds every single-value rule). Each
`fail` says how to fix the values. Rendered once, by serving-serviceaccount.yaml, the one object every release
has. `aimgen values` never writes values that fail these: they guard hand-written and edited values.
Argument: $.
*/}}
{{- define "aim-engine.validate" -}}
{{- $v := .Values -}}
{{- $ns := .Release.Namespace -}}
{{- if or (gt (len $ns) 63) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $ns)) -}}
  {{- fail (printf "namespace %q is not a DNS-1123 label: install into a namespace of at most 63 lower-case letters, digits and '-'" $ns) -}}
{{- end -}}
{{- if gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas) -}}
  {{- fail (printf "autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d): raise maxReplicas or lower minReplicas" (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- $items := (include "aim-engine.deployments" . | fromJson).items -}}
{{- range $key := list "ingress" "httpRoute" -}}
  {{- $host := (index $v $key).host -}}
  {{- if and (index $v $key).enabled (hasPrefix "*." $host) (gt (len $items) 1) -}}
    {{- fail (printf "%s.host %q is a wildcard: with %d deployments each is served at <name>.<host>, which is not a host; set %s.host to %q (models at <name>.%s)" $key $host (len $items) $key (trimPrefix "*." $host) (trimPrefix "*." $host)) -}}
  {{- end -}}
{{- end -}}
{{- $runtimes := dict -}}
{{- range $d := $items -}}
  {{- $p := $d.profile -}}
  {{- $rt := $p.runtime -}}
  {{- $seen := index $runtimes $d.runtimeName -}}
  {{- if and $seen (ne (toJson $seen.runtime) (toJson $rt)) -}}
    {{- fail (printf "deployments %s and %s both use runtime %q (release, plugin and GPU generation) but differ in it (image %s vs %s, port %d vs %d): one runtime object would serve both; give them the same runtime or serve them in two releases" $seen.name $d.name $d.runtimeName $seen.runtime.image $rt.image (int $seen.runtime.port) (int $rt.port)) -}}
  {{- end -}}
  {{- $_ := set $runtimes $d.runtimeName (dict "name" $d.name "runtime" $rt) -}}
  {{- $tp := int $p.tensorParallelSize -}}
  {{- $pp := int $p.pipelineParallelSize -}}
  {{- if gt (int $p.nodes) 1 -}}
    {{- /* aimgen.multinode.check_group: a group's pods on different nodes read one cache claim through pvc://
         (an LLMInferenceService without our cache has each pod download hf:// itself: check_lws_group). */ -}}
    {{- if and (ne $.Values.api "llmisvc") (not $.Values.cache.enabled) -}}
      {{- fail (printf "deployments %s spans %d nodes: its pods all read the model cache through KServe's pvc:// storage URI, so set cache.enabled=true and cache.accessMode=ReadWriteMany (with an RWX storageClass)" $d.name (int $p.nodes)) -}}
    {{- end -}}
    {{- if and $.Values.cache.enabled (ne $.Values.cache.accessMode "ReadWriteMany") -}}
      {{- fail (printf "deployments %s spans %d nodes: its pods on different nodes all read the model cache, so set cache.accessMode=ReadWriteMany (with an RWX storageClass)" $d.name (int $p.nodes)) -}}
    {{- end -}}
  {{- end -}}
  {{- $dp := 1 -}}
  {{- with $p.parallelism }}{{ $dp = int .data }}{{ end -}}
  {{- /* The engine's world size is what the pod group gets: gpus per pod x pods (a multi-node group's head and workers). */ -}}
  {{- if ne (mul $tp $pp $dp) (mul (int $p.gpus) (int $p.nodes)) -}}
    {{- fail (printf "deployments %s: tensorParallelSize %d x pipelineParallelSize %d x data parallel %d uses %d GPUs but the pod group has gpus %d x nodes %d: make them agree (`aimgen values` writes consistent profiles)" $d.name $tp $pp $dp (mul $tp $pp $dp) (int $p.gpus) (int $p.nodes)) -}}
  {{- end -}}
  {{- $want := dict "tensorParallelSize" (toString $tp) "pipelineParallelSize" (toString $pp) "dataParallelSize" (toString $dp) "runtime.port" (toString (int $rt.port)) -}}
  {{- $flags := dict "--tensor-parallel-size" "tensorParallelSize" "-tp" "tensorParallelSize" "--tp-size" "tensorParallelSize" "--tp" "tensorParallelSize" "--pipeline-parallel-size" "pipelineParallelSize" "-pp" "pipelineParallelSize" "--pp-size" "pipelineParallelSize" "--pp" "pipelineParallelSize" "--data-parallel-size" "dataParallelSize" "-dp" "dataParallelSize" "--port" "runtime.port" -}}
  {{- range $i, $arg := $p.args -}}
    {{- $flag := regexReplaceAll "=.*$" $arg "" -}}
    {{- $field := index $flags $flag -}}
    {{- if $field -}}
      {{- $value := "" -}}
      {{- if contains "=" $arg -}}
        {{- $value = regexReplaceAll "^[^=]*=" $arg "" -}}
      {{- else if lt (add1 $i) (len $p.args) -}}
        {{- $value = index $p.args (add1 $i) -}}
      {{- end -}}
      {{- if ne $value (index $want $field) -}}
        {{- fail (printf "deployments %s: args say %s %s but the profile's %s is %s: the engine would not do what the pod is sized and probed for; make them agree" $d.name $flag $value $field (index $want $field)) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end }}
