"""voicegraph.nodes.output"""
