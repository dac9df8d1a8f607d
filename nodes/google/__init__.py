"""voicegraph.nodes.google"""
