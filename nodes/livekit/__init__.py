"""voicegraph.nodes.livekit"""
