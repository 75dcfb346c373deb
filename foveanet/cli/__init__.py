"""The `foveanet` command: one module per subcommand family, each with `register(subparsers)`."""
