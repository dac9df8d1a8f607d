"""voicegraph.nodes.tools"""
