"""Hostile input at every edge: Kafka topics, HTTP routes, the CLI and the input files."""
