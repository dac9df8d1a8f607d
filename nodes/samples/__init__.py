"""Bundled sample audio (WAV) for the main command and the tests."""
