{{- define "perdure.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "perdure.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The headless service giving each pod a stable DNS name: <pod>.<this>.<ns>.svc.<domain> */}}
{{- define "perdure.clusterService" -}}
{{- printf "%s-cluster" (include "perdure.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "perdure.secretName" -}}
{{- default (printf "%s-secret" (include "perdure.fullname" .)) .Values.cluster.existingSecret }}
{{- end }}

{{- define "perdure.selectorLabels" -}}
app.kubernetes.io/name: {{ include "perdure.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "perdure.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "perdure.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* PERDURE_CLUSTER: name=address of every node, the same on every pod. */}}
{{- define "perdure.members" -}}
{{- $fullname := include "perdure.fullname" . }}
{{- $service := include "perdure.clusterService" . }}
{{- $members := list }}
{{- range $i := until (int .Values.replicaCount) }}
{{- $pod := printf "%s-%d" $fullname $i }}
{{- $members = append $members (printf "%s=%s.%s.%s.svc.%s" $pod $pod $service $.Release.Namespace $.Values.cluster.domain) }}
{{- end }}
{{- join "," $members }}
{{- end }}

{{- define "perdure.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- include "perdure.fullname" . }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}
