{{/*
A deployment's profile with the recipe features it switches on (`features:`, or the item's own `features` in
`deployments`), as `aimgen render --feature` renders them: each feature's argv words, compiled per profile by
`aimgen chart sync` (render/values.py profile_entry "features"), appended in the order listed, and the Hub repos
it makes the engine load ("featureRepos": a draft model), appended to the profile's "extraRepos" for the cache. A feature the
profile does not offer fails here (the schema already refuses one the model's recipe does not document).
Argument: dict "name" DEPLOYMENT_NAME "profile" ENTRY "features" NAMES. Result: the entry as JSON.
*/}}
{{- define "aim-engine.withFeatures" -}}
{{- $p := .profile -}}
{{- $offered := $p.features | default dict -}}
{{- $args := $p.args -}}
{{- $workerArgs := $p.workerArgs | default list -}}
{{- $repos := $p.extraRepos | default list -}}
{{- range $name := .features | default list -}}
  {{- if not (hasKey $offered $name) -}}
    {{- fail (printf "deployment %s: profile %s offers no %q feature (it offers: %s): drop %s from features, or pick a profile whose backend its recipe spells it for (`aimgen explain %s --gpu %s --feature %s` says which)" $.name $p.id $name (keys $offered | sortAlpha | join ", " | default "none") $name $p.model $p.gpu $name) -}}
  {{- end -}}
  {{- $args = concat $args (index $offered $name) -}}
  {{- if $workerArgs }}{{ $workerArgs = concat $workerArgs (index $offered $name) }}{{ end -}}
  {{- $repos = concat $repos (index ($p.featureRepos | default dict) $name | default list) -}}
{{- end -}}
{{- toJson (merge (dict "args" $args "workerArgs" $workerArgs "extraRepos" $repos) $p) -}}
{{- end }}
