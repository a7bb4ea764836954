"""Restate's SDK conformance scenarios (restatedev/sdk-test-suite), written for Perdure."""
