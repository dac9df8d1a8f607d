"""voicegraph.nodes.tts"""
