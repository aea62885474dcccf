"""The `motcua` command: one entry point for every role of a one-stop-shop site."""
