"""GitHub access: App auth, scoped installation tokens, and the narrow client the workflows depend on."""
