"""voicegraph.nodes.vad"""
