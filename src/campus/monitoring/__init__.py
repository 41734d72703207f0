"""Alerting for each environment: Prometheus rules rendered as a PrometheusRule."""
