"""voicegraph.nodes.audio"""
