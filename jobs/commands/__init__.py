"""The worker-side handlers of the run commands; each record in app/commands/builtin/ names its own."""
