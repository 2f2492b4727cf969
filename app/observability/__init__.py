"""Operators' view of the processes: Prometheus metrics (`metrics`) and OpenTelemetry traces (`tracing`)."""
