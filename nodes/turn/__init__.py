"""voicegraph.nodes.turn"""
