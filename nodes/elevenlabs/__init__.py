"""voicegraph.nodes.elevenlabs"""
