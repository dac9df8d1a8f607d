"""voicegraph.nodes.stt"""
