"""voicegraph.runner.worker"""
