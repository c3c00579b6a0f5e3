"""What several test rooms share: the CLI runner, the shared sample data, tiny models, xLAM strategies."""
