"""voicegraph.nodes.fallback"""
